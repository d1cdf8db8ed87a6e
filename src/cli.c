/* cli.c - `nmf-faces`: main and option parsing only. Maps statuses to exit
 * codes: 0 success, 1 a data or runtime error, 2 a usage error. */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"
#include "job.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
"Finds the latent parts of a collection of images with non-negative matrix\n"
"factorisation V ~ W H and writes them as images. INPUTs are directories\n"
"(searched recursively) and image files; default: the bundled ORL faces.\n"
"\n"
"  -k, --components K   latent images to find (default 20)\n"
"      --max-iter N     iterations at most (default 200)\n"
"      --tol T          stop when the error falls by less than T times the\n"
"                       initial error over 10 iterations; 0 runs every\n"
"                       iteration (default 1e-4)\n"
"      --solver S       mu (multiplicative updates, any loss) or hals\n"
"                       (coordinate descent, Frobenius only) (default mu)\n"
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
"                       (default nndsvda)\n"
"      --init-w FILE    W0 for --init custom: .npy, images x K\n"
"      --init-h FILE    H0 for --init custom: .npy, K x pixels\n"
"      --seed S         seed of the random and nndsvdar inits (default 42)\n"
"      --threads N      CPU threads, 0 for all (default 0)\n"
"      --device DEV     auto (the GPU when there is one), cpu or gpu\n"
"                       (default auto)\n"
"      --precision P    GPU GEMM precision: fp32, or tf32 (tensor cores,\n"
"                       faster, ~1e-3 relative rounding) (default fp32)\n"
"  -o, --output DIR     output directory (default nmf-out)\n"
"      --checkpoint-every N  save a checkpoint to DIR every N iterations\n"
"                       (default 0: only when interrupted)\n"
"      --resume DIR     continue the run checkpointed in DIR, with its inputs\n"
"                       and options; only --max-iter may change\n"
"      --recon N        images shown in reconstructions.png (default 8)\n"
"      --grey MODE      colour to grey: luma (Rec. 601) or first (the first\n"
"                       channel) (default luma)\n"
"      --resize WxH     scale every image to W x H pixels (default: none,\n"
"                       all images must share one size)\n"
"  -q, --quiet          no progress or summary on stderr\n"
"  -h, --help           this help\n"
"  -V, --version        version and build\n"
"\n"
"Outputs in DIR: components.png, components/NN.png, reconstructions.png,\n"
"W.npy, H.npy, inputs.txt, metrics.json, and checkpoint.nmf when saved.\n"
"Ctrl-C (SIGINT) or SIGTERM stops after the current 10 iterations, saves a\n"
"checkpoint and the outputs, and exits 130 or 143; a second Ctrl-C exits at\n"
"once without writing.\n");
}

static int usage_error(const char *option, const char *value, const char *why)
{
    fprintf(stderr, "nmf-faces: error: %s %s: %s\n", option, value, why);
    fprintf(stderr, "hint: nmf-faces --help lists the options\n");
    return EXIT_USAGE;
}

/* Parses a whole decimal integer in [lo, hi]; 0 on success. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parses a whole finite decimal number in [lo, hi]; 0 on success. */
static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* Parses "WxH" with both sides in 1..65536. */
static int parse_size(const char *s, int *w, int *h)
{
    char buf[64];
    const char *x = strchr(s, 'x');
    long lw, lh;
    if (!x || (size_t)(x - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(x - s));
    buf[x - s] = '\0';
    if (parse_long(buf, 1, 65536, &lw) || parse_long(x + 1, 1, 65536, &lh))
        return -1;
    *w = (int)lw;
    *h = (int)lh;
    return 0;
}

static void print_version(void)
{
    char devices[2048];
    nmf_devices_describe(devices, sizeof devices);
    printf("nmf-faces %s\nBLAS: %s\n%s", NMF_VERSION, openblas_get_config(), devices);
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

/* Options the user gave, to compare with a checkpoint's. */
enum { GIVEN_K = 1 << 0, GIVEN_TOL = 1 << 1, GIVEN_INIT = 1 << 2, GIVEN_SEED = 1 << 3,
       GIVEN_THREADS = 1 << 4, GIVEN_DEVICE = 1 << 5, GIVEN_PRECISION = 1 << 6,
       GIVEN_SOLVER = 1 << 7, GIVEN_BETA = 1 << 8, GIVEN_ALPHA_W = 1 << 9,
       GIVEN_ALPHA_H = 1 << 10, GIVEN_L1_RATIO = 1 << 11, GIVEN_GREY = 1 << 12,
       GIVEN_RESIZE = 1 << 13, GIVEN_RECON = 1 << 14, GIVEN_CHECKPOINT = 1 << 15,
       GIVEN_OUTPUT = 1 << 16, GIVEN_INIT_FILES = 1 << 17 };

/* Refuses any option given beside --resume whose value differs from the
 * checkpoint's; returns 0 when all agree. */
static int resume_conflicts(int given, const job_options *o, const job_options *rec,
                            const char *dir)
{
    const nmf_params *p = &o->params, *r = &rec->params;
    const struct { int flag; const char *name; int differs; } checks[] = {
        {GIVEN_K, "-k/--components", p->k != r->k},
        {GIVEN_TOL, "--tol", p->tol != r->tol},
        {GIVEN_INIT, "--init", p->init != r->init},
        {GIVEN_SEED, "--seed", p->seed != r->seed},
        {GIVEN_THREADS, "--threads", p->threads != r->threads},
        {GIVEN_DEVICE, "--device", p->device != r->device},
        {GIVEN_PRECISION, "--precision", p->precision != r->precision},
        {GIVEN_SOLVER, "--solver", p->solver != r->solver},
        {GIVEN_BETA, "--loss/--beta", p->beta != r->beta},
        {GIVEN_ALPHA_W, "--alpha-w", p->alpha_W != r->alpha_W},
        {GIVEN_ALPHA_H, "--alpha-h", p->alpha_H != r->alpha_H},
        {GIVEN_L1_RATIO, "--l1-ratio", p->l1_ratio != r->l1_ratio},
        {GIVEN_GREY, "--grey", o->data.grey != rec->data.grey},
        {GIVEN_RESIZE, "--resize", o->data.resize_w != rec->data.resize_w ||
                                   o->data.resize_h != rec->data.resize_h},
        {GIVEN_RECON, "--recon", o->recon_count != rec->recon_count},
        {GIVEN_CHECKPOINT, "--checkpoint-every", p->checkpoint_every != r->checkpoint_every},
        {GIVEN_OUTPUT, "-o/--output", strcmp(o->output_dir, dir) != 0},
        {GIVEN_INIT_FILES, "--init-w/--init-h", 1},
    };
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
        if ((given & checks[i].flag) && checks[i].differs) {
            fprintf(stderr,
                    "nmf-faces: error: --resume %s: %s differs from the checkpointed run's\n"
                    "hint: --resume continues a run as it was; only --max-iter may change\n",
                    dir, checks[i].name);
            return 1;
        }
    return 0;
}

static void note_to_stderr(const char *msg, void *user)
{
    (void)user;
    fprintf(stderr, "nmf-faces: note: %s\n", msg);
}

int main(int argc, char **argv)
{
    enum { OPT_MAX_ITER = 256, OPT_TOL, OPT_INIT, OPT_INIT_W, OPT_INIT_H, OPT_SEED,
           OPT_THREADS, OPT_DEVICE, OPT_PRECISION, OPT_RECON, OPT_GREY, OPT_RESIZE,
           OPT_SOLVER, OPT_LOSS, OPT_BETA, OPT_ALPHA_W, OPT_ALPHA_H, OPT_L1_RATIO,
           OPT_CHECKPOINT, OPT_RESUME };
    static const struct option long_options[] = {
        {"components", required_argument, NULL, 'k'},
        {"max-iter", required_argument, NULL, OPT_MAX_ITER},
        {"tol", required_argument, NULL, OPT_TOL},
        {"init", required_argument, NULL, OPT_INIT},
        {"solver", required_argument, NULL, OPT_SOLVER},
        {"loss", required_argument, NULL, OPT_LOSS},
        {"beta", required_argument, NULL, OPT_BETA},
        {"alpha-w", required_argument, NULL, OPT_ALPHA_W},
        {"alpha-h", required_argument, NULL, OPT_ALPHA_H},
        {"l1-ratio", required_argument, NULL, OPT_L1_RATIO},
        {"init-w", required_argument, NULL, OPT_INIT_W},
        {"init-h", required_argument, NULL, OPT_INIT_H},
        {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"output", required_argument, NULL, 'o'},
        {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT},
        {"resume", required_argument, NULL, OPT_RESUME},
        {"recon", required_argument, NULL, OPT_RECON},
        {"grey", required_argument, NULL, OPT_GREY},
        {"resize", required_argument, NULL, OPT_RESIZE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    job_options opt = {0};
    nmf_params_default(&opt.params);
    dataset_options_default(&opt.data);
    opt.output_dir = "nmf-out";
    opt.recon_count = 8;
    int init_given = 0, max_iter_given = 0, given = 0;
    const char *resume_dir = NULL;

    opterr = 0;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ":k:o:qhV", long_options, NULL)) != -1) {
        const char *name = optind > 1 ? argv[optind - 1] : "";
        switch (c) {
        case 'k':
            if (parse_long(optarg, 1, INT_MAX, &v))
                return usage_error("-k/--components", optarg, "must be a whole number >= 1");
            opt.params.k = (int)v;
            given |= GIVEN_K;
            break;
        case OPT_MAX_ITER:
            if (parse_long(optarg, 1, INT_MAX, &v))
                return usage_error("--max-iter", optarg, "must be a whole number >= 1");
            opt.params.max_iter = (int)v;
            max_iter_given = 1;
            break;
        case OPT_TOL:
            if (parse_double(optarg, 0.0, 1e300, &opt.params.tol))
                return usage_error("--tol", optarg, "must be a number >= 0");
            given |= GIVEN_TOL;
            break;
        case OPT_SOLVER:
            if (nmf_solver_parse(optarg, &opt.params.solver))
                return usage_error("--solver", optarg, "must be mu or hals");
            given |= GIVEN_SOLVER;
            break;
        case OPT_LOSS:
            if (!strcmp(optarg, "frobenius"))
                opt.params.beta = 2.0;
            else if (!strcmp(optarg, "kullback-leibler") || !strcmp(optarg, "kl"))
                opt.params.beta = 1.0;
            else if (!strcmp(optarg, "itakura-saito") || !strcmp(optarg, "is"))
                opt.params.beta = 0.0;
            else
                return usage_error("--loss", optarg,
                                   "must be frobenius, kullback-leibler (kl) or itakura-saito (is)");
            given |= GIVEN_BETA;
            break;
        case OPT_BETA:
            if (parse_double(optarg, -100.0, 100.0, &opt.params.beta))
                return usage_error("--beta", optarg, "must be a number in -100..100");
            given |= GIVEN_BETA;
            break;
        case OPT_ALPHA_W:
            if (parse_double(optarg, 0.0, 1e30, &opt.params.alpha_W))
                return usage_error("--alpha-w", optarg, "must be a number >= 0");
            given |= GIVEN_ALPHA_W;
            break;
        case OPT_ALPHA_H:
            if (parse_double(optarg, 0.0, 1e30, &opt.params.alpha_H))
                return usage_error("--alpha-h", optarg, "must be a number >= 0");
            given |= GIVEN_ALPHA_H;
            break;
        case OPT_L1_RATIO:
            if (parse_double(optarg, 0.0, 1.0, &opt.params.l1_ratio))
                return usage_error("--l1-ratio", optarg, "must be a number in 0..1");
            given |= GIVEN_L1_RATIO;
            break;
        case OPT_INIT:
            if (nmf_init_parse(optarg, &opt.params.init))
                return usage_error("--init", optarg,
                                   "must be random, nndsvd, nndsvda, nndsvdar or custom");
            init_given = 1;
            given |= GIVEN_INIT;
            break;
        case OPT_INIT_W:
            opt.init_w_path = optarg;
            given |= GIVEN_INIT_FILES;
            break;
        case OPT_INIT_H:
            opt.init_h_path = optarg;
            given |= GIVEN_INIT_FILES;
            break;
        case OPT_SEED:
            if (parse_long(optarg, 0, 4294967295L, &v))
                return usage_error("--seed", optarg, "must be a whole number in 0..4294967295");
            opt.params.seed = (uint32_t)v;
            given |= GIVEN_SEED;
            break;
        case OPT_THREADS:
            if (parse_long(optarg, 0, 4096, &v))
                return usage_error("--threads", optarg, "must be a whole number in 0..4096");
            opt.params.threads = (int)v;
            opt.data.threads = (int)v;
            given |= GIVEN_THREADS;
            break;
        case OPT_DEVICE:
            if (nmf_device_parse(optarg, &opt.params.device))
                return usage_error("--device", optarg, "must be auto, cpu or gpu");
            given |= GIVEN_DEVICE;
            break;
        case OPT_PRECISION:
            if (nmf_precision_parse(optarg, &opt.params.precision))
                return usage_error("--precision", optarg, "must be fp32 or tf32");
            given |= GIVEN_PRECISION;
            break;
        case 'o':
            if (!*optarg)
                return usage_error("-o/--output", "''", "must not be empty");
            opt.output_dir = optarg;
            given |= GIVEN_OUTPUT;
            break;
        case OPT_RECON:
            if (parse_long(optarg, 1, 1000, &v))
                return usage_error("--recon", optarg, "must be a whole number in 1..1000");
            opt.recon_count = (int)v;
            given |= GIVEN_RECON;
            break;
        case OPT_GREY:
            if (!strcmp(optarg, "luma"))
                opt.data.grey = DATASET_GREY_LUMA;
            else if (!strcmp(optarg, "first"))
                opt.data.grey = DATASET_GREY_FIRST;
            else
                return usage_error("--grey", optarg, "must be luma or first");
            given |= GIVEN_GREY;
            break;
        case OPT_RESIZE:
            if (parse_size(optarg, &opt.data.resize_w, &opt.data.resize_h))
                return usage_error("--resize", optarg,
                                   "must be WIDTHxHEIGHT, e.g. 92x112, each 1..65536");
            given |= GIVEN_RESIZE;
            break;
        case OPT_CHECKPOINT:
            if (parse_long(optarg, 0, INT_MAX, &v))
                return usage_error("--checkpoint-every", optarg, "must be a whole number >= 0");
            opt.params.checkpoint_every = (int)v;
            given |= GIVEN_CHECKPOINT;
            break;
        case OPT_RESUME:
            resume_dir = optarg;
            break;
        case 'q':
            opt.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            print_version();
            return 0;
        case ':':
            return usage_error(name, "", "needs a value");
        default:
            return usage_error(name, "", "unknown option");
        }
    }

    if (opt.init_w_path || opt.init_h_path) {
        if (init_given && opt.params.init != NMF_INIT_CUSTOM)
            return usage_error("--init-w/--init-h", "", "only go with --init custom");
        opt.params.init = NMF_INIT_CUSTOM;
    }
    if (opt.params.init == NMF_INIT_CUSTOM && (!opt.init_w_path || !opt.init_h_path))
        return usage_error("--init", "custom", "needs both --init-w FILE and --init-h FILE");

    const char *fallback[1] = {default_input()};
    opt.inputs = optind < argc ? (const char *const *)argv + optind : fallback;
    opt.n_inputs = optind < argc ? (size_t)(argc - optind) : 1;
    nmf_set_note_handler(opt.quiet ? NULL : note_to_stderr, NULL);

    /* --resume: the checkpoint's inputs and options, --max-iter and --quiet
     * from the command line. */
    checkpoint_info info = {0};
    nmf_result state = {0};
    float *W = NULL, *H = NULL;
    nmf_status st;
    if (resume_dir) {
        if ((st = checkpoint_read(resume_dir, &info, &state, &W, &H)) != NMF_STATUS_OK) {
            fprintf(stderr, "nmf-faces: error: %s\n", nmf_last_error());
            return EXIT_DATA;
        }
        int inputs_differ = optind < argc && (opt.n_inputs != info.job.n_inputs);
        for (size_t i = 0; optind < argc && !inputs_differ && i < opt.n_inputs; i++)
            inputs_differ = strcmp(opt.inputs[i], info.job.inputs[i]) != 0;
        int code = 0;
        if (inputs_differ) {
            fprintf(stderr, "nmf-faces: error: --resume %s: the inputs differ from the "
                            "checkpointed run's\n", resume_dir);
            code = EXIT_USAGE;
        } else if (resume_conflicts(given, &opt, &info.job, resume_dir)) {
            code = EXIT_USAGE;
        } else if (max_iter_given && opt.params.max_iter < state.iterations) {
            fprintf(stderr, "nmf-faces: error: --max-iter %d: the checkpointed run has already "
                            "done %d iterations\n", opt.params.max_iter, state.iterations);
            code = EXIT_USAGE;
        }
        if (code) {
            checkpoint_info_free(&info);
            nmf_result_free(&state);
            free(W), free(H);
            return code;
        }
        int max_iter = max_iter_given ? opt.params.max_iter : info.job.params.max_iter;
        int quiet = opt.quiet;
        opt = info.job;
        opt.params.max_iter = max_iter;
        opt.quiet = quiet;
        opt.output_dir = resume_dir;
        opt.data.threads = opt.params.threads;
        opt.resume = &state;
        opt.resume_W = W;
        opt.resume_H = H;
        opt.resume_fingerprint = info.fingerprint;
    }

    install_signal_handlers();
    opt.stop_flag = &stop_signal;
    st = job_run(&opt);
    checkpoint_info_free(&info);
    nmf_result_free(&state);
    free(W);
    free(H);
    if (st == NMF_STATUS_OK)
        return 0;
    if (st == NMF_STATUS_INTERRUPTED) {
        fprintf(stderr, "nmf-faces: %s\n", nmf_last_error());
        return 128 + (stop_signal ? stop_signal : SIGINT);
    }
    fprintf(stderr, "nmf-faces: error: %s\n", nmf_last_error());
    return st == NMF_STATUS_BAD_ARGUMENT ? EXIT_USAGE : EXIT_DATA;
}
