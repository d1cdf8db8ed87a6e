/* survey.h - internal: the `survey` command, which helps choose the number
 * of components k: it fits every k of a range (each from several starts
 * when asked), on one load of the images, and writes what each k achieved,
 * how alike its restarts came out, a chart and a suggested k. */
#ifndef NMF_SURVEY_H
#define NMF_SURVEY_H

#include "job.h"

#define SURVEY_DEFAULT_DIR "nmf-survey-out"
#define SURVEY_DEFAULT_K "4:40:4"
/* One fit of a k can end in a poor local minimum (on the swimmer set a
 * single start suggests 18, 23 or 13 by its init): the best of a few is
 * what the error curve shows, and their spread is the stability. */
#define SURVEY_DEFAULT_RESTARTS 4
/* Values of k a survey takes at most (a range longer is a usage error). */
#define SURVEY_MAX_KS 1000

typedef struct {
    /* inputs, output_dir, quiet, overwrite, stop_flag, and config: the
     * params of every fit (but k and, for restart r, seed + r) and the
     * data's options. */
    job_options job;
    int k_first, k_last, k_step; /* the ks surveyed: k_first, + k_step, ... <= k_last */
    int restarts;                /* fits of each k, from seeds seed, seed + 1, ... */
    int null_data;               /* --null: the same survey on each image's pixels shuffled */
} survey_options;

/* Loads the images once, fits each k restarts times (the same params but
 * k and the seed), and writes into the output directory (staged, as
 * job_run): survey.json (the settings, per k the best restart's errors,
 * explained variance, iterations, time, the stability across restarts
 * (survey_measures.h), the shuffled data's error with --null, and
 * suggested_k with the rule that chose it), survey.csv (a row per k) and
 * survey.png (survey_chart.h). Every k is checked against the data before
 * the first fit. Prints a line per k on stderr (unless quiet) and the
 * suggested k on stdout, last. Interrupted (stop_flag), it writes
 * nothing. */
nmf_status job_survey(const survey_options *opt);

#endif
