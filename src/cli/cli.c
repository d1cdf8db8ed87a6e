/* cli.c - `nmf-faces`: main, the usage text and the signals (the options are
 * parsed in cli_options.c). Maps statuses to exit codes: 0 success, 1 a
 * data or runtime error, 2 a usage error. */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"
#include "cli_options.h"
#include "job.h"
#include "ranks.h"

#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NMF_BUNDLED_DATA
#define NMF_BUNDLED_DATA "data/orl_faces"
#endif

enum { EXIT_DATA = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fprintf(out,
"usage: nmf-faces [options] [INPUT...]\n"
"       nmf-faces transform --model DIR [options] INPUT...\n"
"       nmf-faces reconstruct --model DIR --codes W.npy [-o DIR]\n"
"       nmf-faces survey [-k A:B[:STEP]] [--restarts R] [--null] [options] INPUT...\n"
"Finds the latent parts of a collection of images with non-negative matrix\n"
"factorisation V ~ W H and writes them as images. INPUTs are directories\n"
"(searched recursively) and image files; default: the bundled ORL faces.\n"
"\n"
"  -k, --components K   latent images to find (default 20)\n"
"      --max-iter N     iterations at most, a safety net (default 1000)\n"
"      --tol T          stop when the error fell by less than T times itself\n"
"                       over the last 10 iterations; 0 runs every iteration\n"
"                       (default 1e-3)\n"
"      --stopping RULE  relative (the rule above) or sklearn (scikit-learn's:\n"
"                       mu against the initial error, hals by its projected\n"
"                       gradient) (default relative)\n"
"      --sklearn        scikit-learn's NMF() defaults and rules: --solver hals\n"
"                       (its cd) --sweeps 1,1 --init nndsvda --tol 1e-4\n"
"                       --max-iter 200 --stopping sklearn, for any not given\n"
"      --solver S       hals (coordinate descent, Frobenius only) or mu\n"
"                       (multiplicative updates, any loss) (default hals;\n"
"                       mu for a --loss other than frobenius)\n"
"      --sweeps W,H     hals: sweeps over W, then H, per iteration, reusing\n"
"                       its products (default 4,2; 1,1 is scikit-learn's cd)\n"
"      --loss L         frobenius, kullback-leibler (kl) or itakura-saito (is)\n"
"                       (default frobenius)\n"
"      --beta B         the beta-divergence for --solver mu: 2 frobenius,\n"
"                       1 kl, 0 is, any other value (default 2)\n"
"      --alpha-w A      regularisation of W, scaled as scikit-learn scales it\n"
"                       (times the number of pixels) (default 0)\n"
"      --alpha-h A      regularisation of H (times the number of images)\n"
"                       (default: same as --alpha-w)\n"
"      --l1-ratio R     L1 share of the regularisation, 0..1 (default 0)\n"
"      --init METHOD    random, nndsvd, nndsvda, nndsvdar or custom\n"
"                       (default nndsvd; nndsvda for --solver mu)\n"
"      --init-w FILE    W0 for --init custom: .npy, images x K\n"
"      --init-h FILE    H0 for --init custom: .npy, K x pixels\n"
"      --seed S         seed of the random and nndsvdar inits (default 42)\n"
"      --threads N      CPU threads, 0 for all (default 0)\n"
"      --device DEV     auto (the GPU when there is one), cpu or gpu\n"
"                       (default auto)\n"
"      --precision P    GPU GEMM precision: fp32, or tf32 (tensor cores,\n"
"                       faster, ~1e-3 relative rounding) (default fp32)\n"
"  -o, --output DIR     output directory (default nmf-out)\n"
"      --overwrite      replace another run's results in DIR (refused without)\n"
"      --checkpoint-every N  save a checkpoint to DIR every N iterations\n"
"                       (default 0: only when interrupted)\n"
"      --resume DIR     continue the run checkpointed in DIR, with its inputs\n"
"                       and options; only --max-iter may change\n");
    fprintf(out,
"      --recon N        images shown in reconstructions.png, spread over the\n"
"                       set (default 8)\n"
"      --grey MODE      colour to grey: luma (Rec. 601) or first (the first\n"
"                       channel) (default luma)\n"
"      --colour         keep R, G, B (--color too): rows of 3 values a pixel,\n"
"                       colour latent images; grey files are refused\n"
"      --resize WxH     scale every image to W x H pixels (default: none,\n"
"                       all images must share one size); 8-bit images stay\n"
"                       8-bit, rounded to the nearest level\n"
"      --missing alpha  pixels whose alpha is 0 are missing: the fit sees the\n"
"                       others alone and fills these in (--solver mu)\n"
"      --mask DIR       the same from mask images, 0 where missing: image\n"
"                       INPUT/REL's mask is DIR/REL (a file input's, DIR/NAME)\n"
"      --write-completed  every image with its missing pixels filled in, as\n"
"                       completed/NNNN.png (row NNNN of inputs.txt)\n"
"      --storage MODE   how V is held: auto (bytes when every image is 8-bit,\n"
"                       a quarter of float32's memory; else float32) or\n"
"                       float32 (default auto)\n"
"      --max-memory SIZE  memory the run may take, e.g. 48M or 2G (K, M, G,\n"
"                       T: powers of 1024); when V does not fit, it is\n"
"                       written once to a cache file and read from it in\n"
"                       blocks every iteration (default auto: what the\n"
"                       system has available, less a tenth)\n"
"      --cache DIR      where that file goes (default: the output DIR); it\n"
"                       is removed as soon as it is made: nothing is left\n"
"  -q, --quiet          no progress or summary on stderr\n"
"  -h, --help           this help\n"
"  -V, --version        version and build\n");
    fprintf(out,
"\n"
"Outputs in DIR: components.png, components/NN.png, reconstructions.png,\n"
"W.npy, H.npy, inputs.txt, model.json (for transform), metrics.json, and\n"
"checkpoint.nmf when saved.\n"
"All are written into a folder inside DIR, then moved in together, replacing\n"
"the last run's; a failed run leaves DIR as it was (checkpoints aside).\n"
"Ctrl-C (SIGINT) or SIGTERM stops after the current 10 iterations, saves a\n"
"checkpoint and the outputs, and exits 130 or 143; a second Ctrl-C exits at\n"
"once without writing.\n"
"Several processes: mpirun -np P nmf-faces [options] INPUT... (or srun) splits\n"
"the images over P ranks, --threads each, and writes what one process writes\n"
"(when built with MPI: nmf-faces --version says).\n"
"nmf-faces help transform (reconstruct, survey) describes the other commands.\n");
}

static void usage_transform(FILE *out)
{
    fprintf(out,
"usage: nmf-faces transform --model DIR [options] INPUT...\n"
"Encodes new images with the latent images of a fit: finds the weights\n"
"W >= 0 that rebuild each image from the model's H (H fixed), for the\n"
"model's loss and W regularisation (scikit-learn's NMF.transform). The\n"
"images are made into rows as the fit made them (grey mode or colour,\n"
"--resize); another size, or grey images for a colour model, is an error.\n"
"\n"
"      --model DIR      the output folder of a fit (model.json, H.npy)\n"
"  -o, --output DIR     output directory (default nmf-transform-out)\n"
"      --overwrite      replace another run's results in DIR\n"
"      --max-iter N     iterations at most (default 2000)\n"
"      --tol T          stop when the error fell by less than T times itself\n"
"                       over the last 10 iterations (default 1e-6)\n"
"      --solver S       hals or mu (default: the model's; mu for a loss\n"
"                       other than frobenius, and for missing pixels)\n"
"      --sweeps W,H     hals: sweeps over W per iteration (default 4,2)\n"
"      --device DEV     auto, cpu or gpu (default auto)\n"
"      --precision P    fp32 or tf32 (default fp32)\n"
"      --threads N      CPU threads, 0 for all (default 0)\n"
"      --recon N        images shown in reconstructions.png (default 8)\n"
"      --storage MODE   auto or float32, as for a fit (default auto)\n"
"      --missing alpha, --mask DIR  missing pixels, as for a fit: each image\n"
"                       is encoded from its observed pixels; reconstruct\n"
"                       its codes for the whole faces\n"
"  -q, --quiet          no progress or summary on stderr\n"
"\n"
"Outputs in DIR: W.npy (images x K, rows in inputs.txt order), inputs.txt,\n"
"reconstructions.png, metrics.json (the relative error, overall and per\n"
"image: image_relative_err).\n");
}

static void usage_reconstruct(FILE *out)
{
    fprintf(out,
"usage: nmf-faces reconstruct --model DIR --codes W.npy [-o DIR]\n"
"Turns codes back into images: writes W H for each row of W (images x K,\n"
"float32 or float64 .npy, as transform writes it, or edited) and the\n"
"model's H (scikit-learn's inverse_transform), pixel values clamped to\n"
"0..255, as DIR/images/0000.png, 0001.png, ...\n"
"\n"
"      --model DIR      the output folder of a fit (model.json, H.npy)\n"
"      --codes FILE     the codes, one row per image\n"
"  -o, --output DIR     output directory (default nmf-reconstruct-out)\n"
"      --overwrite      replace another run's images in DIR\n"
"  -q, --quiet          no summary on stderr\n");
}

static void usage_survey(FILE *out)
{
    fprintf(out,
"usage: nmf-faces survey [-k A:B[:STEP]] [--restarts R] [--null] [options] INPUT...\n"
"Helps choose the number of components: fits every k of a range on one load\n"
"of the images, each from R starts, and suggests a k. Takes a fit's options\n"
"(solver, loss, regularisation, init, tolerance, device, images) but those\n"
"of one run (--resume, --checkpoint-every, --init custom, --write-completed,\n"
"--recon) and --max-memory, --cache: V is held in memory (twice, --null).\n"
"\n"
"  -k, --components A:B[:STEP]  the ks: A, A + STEP, ... up to B (or one K),\n"
"                       at most 1000 (default " SURVEY_DEFAULT_K ")\n"
"      --restarts R     fits of each k, from seeds S, S + 1, ... (--seed S),\n"
"                       the best one's error reported; 2 or more measure the\n"
"                       stability and start from --init random; 1 starts\n"
"                       from a fit's default init (default 4)\n"
"      --null           also survey the images with each one's pixels shuffled,\n"
"                       and suggest k against it (twice the fits, V held twice)\n"
"  -o, --output DIR     output directory (default " SURVEY_DEFAULT_DIR ")\n"
"      --overwrite      replace another survey's results in DIR\n"
"\n"
"Outputs in DIR: survey.json (settings; per k the best restart's relative\n"
"error, explained variance, iterations, time, stability, the shuffled data's\n"
"error; suggested_k and the rule), survey.csv (a row per k), survey.png (the\n"
"chart). A line per k on stderr; the suggested k on stdout, last.\n"
"The suggestion: with --null, the first k from which the next k lowers the\n"
"residual sum of squares less than it lowers the shuffled data's; else the\n"
"elbow of the error\n"
"curve (the k farthest below the line from its first point to its last).\n");
}

static void print_version(void)
{
    char devices[2048];
    nmf_devices_describe(devices, sizeof devices);
    printf("nmf-faces %s\nBLAS: %s\nMPI: %s\n%s", NMF_VERSION, openblas_get_config(),
           ranks_library(), devices);
}

/* The bundled faces: ./data/orl_faces when run from the project, else the
 * copy in the source tree this binary was built from. */
static const char *default_input(void)
{
    struct stat st;
    return stat("data/orl_faces", &st) == 0 && S_ISDIR(st.st_mode) ? "data/orl_faces"
                                                                    : NMF_BUNDLED_DATA;
}

/* The first SIGINT/SIGTERM asks the fit to stop and save; a second one
 * ends the process at once, writing nothing. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int signo)
{
    if (stop_signal)
        _exit(128 + signo);
    stop_signal = signo;
}

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void note_to_stderr(const char *msg, void *user)
{
    (void)user;
    fprintf(stderr, "nmf-faces: note: %s\n", msg);
}

/* The exit status of a command that ended with st (an interruption aside). */
static int exit_code(nmf_status st)
{
    return st == NMF_STATUS_OK ? 0 : st == NMF_STATUS_BAD_ARGUMENT ? EXIT_USAGE : EXIT_DATA;
}

/* The library's last error, in the command line's terms, when `say`. */
static void print_error_if(int say)
{
    char message[1100]; /* nmf_last_error()'s 1024 and the longest option */
    if (say)
        fprintf(stderr, "nmf-faces: error: %s\n", cli_message(nmf_last_error(), message, sizeof message));
}

/* Over the ranks of an MPI job, an error every rank meets alike (an
 * option) is printed by rank 0, and one of an agreed step by the rank it
 * happened on (the others have NMF_STATUS_PEER_FAILED). */
static void print_error(void)
{
    print_error_if(ranks_rank() == 0);
}

static void print_job_error(nmf_status st)
{
    print_error_if(st != NMF_STATUS_PEER_FAILED);
}

static int run(int argc, char **argv);

/* The exit of a command run in one process (not a fit): its error printed,
 * an interruption's message and signal code. */
static int command_exit(nmf_status st)
{
    if (st == NMF_STATUS_INTERRUPTED) {
        fprintf(stderr, "nmf-faces: %s\n", nmf_last_error());
        return 128 + (stop_signal ? stop_signal : SIGINT);
    }
    if (st != NMF_STATUS_OK)
        print_error();
    return exit_code(st);
}

static const char *command_name(cli_command command)
{
    return command == CLI_TRANSFORM     ? "transform"
           : command == CLI_RECONSTRUCT ? "reconstruct"
           : command == CLI_SURVEY      ? "survey"
                                        : "a fit";
}

int main(int argc, char **argv)
{
    ranks_start(&argc, &argv);
    /* Over ranks, the job's code: a rank that only heard of another's
     * failure (NMF_STATUS_PEER_FAILED) exits as that one does. */
    const int code = ranks_max(run(argc, argv));
    ranks_finish();
    return code;
}

static int run(int argc, char **argv)
{
    cli_options cli;
    if (cli_options_parse(argc, argv, &cli) != NMF_STATUS_OK) {
        print_error();
        if (ranks_rank() == 0)
            fprintf(stderr, "hint: nmf-faces %s lists the options\n",
                    cli.command == CLI_TRANSFORM     ? "help transform"
                    : cli.command == CLI_RECONSTRUCT ? "help reconstruct"
                    : cli.command == CLI_SURVEY      ? "help survey"
                                                     : "--help");
        return EXIT_USAGE;
    }
    if (cli.action != CLI_RUN && ranks_rank() != 0) /* help and version: once */
        return 0;
    if (cli.action == CLI_HELP) {
        (cli.command == CLI_TRANSFORM     ? usage_transform
         : cli.command == CLI_RECONSTRUCT ? usage_reconstruct
         : cli.command == CLI_SURVEY      ? usage_survey
                                          : usage)(stdout);
        return 0;
    }
    if (cli.action == CLI_VERSION) {
        print_version();
        return 0;
    }
    /* Rank 0 alone: every rank reads the same headers. */
    nmf_set_note_handler(cli.job.quiet || ranks_rank() != 0 ? NULL : note_to_stderr, NULL);
    nmf_status st;
    if (cli.command != CLI_FIT && ranks_size() > 1) {
        if (ranks_rank() == 0)
            fprintf(stderr, "nmf-faces: error: %s runs in one process; start it without mpirun "
                            "or srun (only a fit runs over ranks)\n",
                    command_name(cli.command));
        return EXIT_USAGE;
    }
    if (cli.command == CLI_RECONSTRUCT) {
        reconstruct_options ro = {cli.model_dir, cli.codes_path, cli.job.output_dir,
                                  cli.job.overwrite, cli.job.quiet};
        return command_exit(job_reconstruct(&ro));
    }
    if (cli.command == CLI_TRANSFORM) {
        install_signal_handlers();
        cli.job.stop_flag = &stop_signal;
        transform_options to = {cli.job, cli.model_dir,
                                (cli.given & SETTING_BIT(SETTING_SOLVER)) != 0};
        return command_exit(job_transform(&to));
    }
    const char *fallback[1] = {default_input()};
    if (cli.job.n_inputs == 0 && !cli.resume_dir) {
        cli.job.inputs = fallback;
        cli.job.n_inputs = 1;
    }
    if (cli.command == CLI_SURVEY) {
        install_signal_handlers();
        cli.job.stop_flag = &stop_signal;
        survey_options so = {cli.job, cli.k_first, cli.k_last, cli.k_step, cli.restarts,
                             cli.null_data};
        return command_exit(job_survey(&so));
    }

    /* --resume: the checkpoint's inputs and options, --max-iter and --quiet
     * from the command line. */
    checkpoint_info info = {0};
    resume_point point = {0};
    if (cli.resume_dir) {
        if ((st = ranks_agree(checkpoint_read(cli.resume_dir, &info, &point))) != NMF_STATUS_OK) {
            print_job_error(st);
            checkpoint_info_free(&info); /* read by this rank, failed on another */
            resume_point_free(&point);
            return exit_code(st);
        }
        if (cli_options_resume(&cli, &info, point.state.iterations) != NMF_STATUS_OK) {
            print_error();
            if (ranks_rank() == 0)
                fprintf(stderr, "hint: --resume continues a run as it was; only --max-iter may "
                                "be raised\n");
            checkpoint_info_free(&info);
            resume_point_free(&point);
            return EXIT_USAGE;
        }
        cli.job.resume = &point;
    }

    install_signal_handlers();
    cli.job.stop_flag = &stop_signal;
    st = job_run(&cli.job);
    checkpoint_info_free(&info);
    resume_point_free(&point);
    if (st == NMF_STATUS_OK)
        return 0;
    if (st == NMF_STATUS_INTERRUPTED) {
        if (ranks_rank() == 0)
            fprintf(stderr, "nmf-faces: %s\n", nmf_last_error());
        return 128 + (stop_signal ? stop_signal : SIGINT);
    }
    print_job_error(st);
    return exit_code(st);
}
