/* survey_chart.h - internal: the `survey` command's chart, survey.png:
 * the relative error (and the shuffled data's, with --null) and the
 * stability across restarts against k, the suggested k marked. Drawn with
 * PLplot through its cairo PNG driver. */
#ifndef NMF_SURVEY_CHART_H
#define NMF_SURVEY_CHART_H

#include "nmf/nmf.h"

#include <stddef.h>

typedef struct {
    size_t count;             /* points, >= 1 */
    const int *k;             /* increasing */
    const double *err;        /* relative error at each k */
    const double *null_err;   /* the shuffled data's; NULL without --null */
    const double *stability;  /* NULL with one restart */
    int suggested_k;          /* marked; 0 for none */
    const char *title;
} survey_chart;

/* Whether PLplot can write PNGs here (its pngcairo device, Debian's
 * plplot-driver-cairo): checked before any fit, since PLplot without the
 * device would ask for one on the terminal. */
nmf_status survey_chart_check(void);

/* Writes the chart to path; any message PLplot raises while drawing is
 * an error naming path. */
nmf_status survey_chart_write(const char *path, const survey_chart *c);

#endif
