/* cli.c - `nmf-faces`: main and option parsing only. Maps statuses to exit
 * codes: 0 success, 1 a data or runtime error, 2 a usage error. */
#define _POSIX_C_SOURCE 200809L
#include "job.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
"W.npy, H.npy, inputs.txt, metrics.json.\n");
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

static void note_to_stderr(const char *msg, void *user)
{
    (void)user;
    fprintf(stderr, "nmf-faces: note: %s\n", msg);
}

int main(int argc, char **argv)
{
    enum { OPT_MAX_ITER = 256, OPT_TOL, OPT_INIT, OPT_INIT_W, OPT_INIT_H, OPT_SEED,
           OPT_THREADS, OPT_DEVICE, OPT_PRECISION, OPT_RECON, OPT_GREY, OPT_RESIZE,
           OPT_SOLVER, OPT_LOSS, OPT_BETA, OPT_ALPHA_W, OPT_ALPHA_H, OPT_L1_RATIO };
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
    int init_given = 0;

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
            break;
        case OPT_MAX_ITER:
            if (parse_long(optarg, 1, INT_MAX, &v))
                return usage_error("--max-iter", optarg, "must be a whole number >= 1");
            opt.params.max_iter = (int)v;
            break;
        case OPT_TOL:
            if (parse_double(optarg, 0.0, 1e300, &opt.params.tol))
                return usage_error("--tol", optarg, "must be a number >= 0");
            break;
        case OPT_SOLVER:
            if (nmf_solver_parse(optarg, &opt.params.solver))
                return usage_error("--solver", optarg, "must be mu or hals");
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
            break;
        case OPT_BETA:
            if (parse_double(optarg, -100.0, 100.0, &opt.params.beta))
                return usage_error("--beta", optarg, "must be a number in -100..100");
            break;
        case OPT_ALPHA_W:
            if (parse_double(optarg, 0.0, 1e30, &opt.params.alpha_W))
                return usage_error("--alpha-w", optarg, "must be a number >= 0");
            break;
        case OPT_ALPHA_H:
            if (parse_double(optarg, 0.0, 1e30, &opt.params.alpha_H))
                return usage_error("--alpha-h", optarg, "must be a number >= 0");
            break;
        case OPT_L1_RATIO:
            if (parse_double(optarg, 0.0, 1.0, &opt.params.l1_ratio))
                return usage_error("--l1-ratio", optarg, "must be a number in 0..1");
            break;
        case OPT_INIT:
            if (nmf_init_parse(optarg, &opt.params.init))
                return usage_error("--init", optarg,
                                   "must be random, nndsvd, nndsvda, nndsvdar or custom");
            init_given = 1;
            break;
        case OPT_INIT_W:
            opt.init_w_path = optarg;
            break;
        case OPT_INIT_H:
            opt.init_h_path = optarg;
            break;
        case OPT_SEED:
            if (parse_long(optarg, 0, 4294967295L, &v))
                return usage_error("--seed", optarg, "must be a whole number in 0..4294967295");
            opt.params.seed = (uint32_t)v;
            break;
        case OPT_THREADS:
            if (parse_long(optarg, 0, 4096, &v))
                return usage_error("--threads", optarg, "must be a whole number in 0..4096");
            opt.params.threads = (int)v;
            opt.data.threads = (int)v;
            break;
        case OPT_DEVICE:
            if (nmf_device_parse(optarg, &opt.params.device))
                return usage_error("--device", optarg, "must be auto, cpu or gpu");
            break;
        case OPT_PRECISION:
            if (nmf_precision_parse(optarg, &opt.params.precision))
                return usage_error("--precision", optarg, "must be fp32 or tf32");
            break;
        case 'o':
            if (!*optarg)
                return usage_error("-o/--output", "''", "must not be empty");
            opt.output_dir = optarg;
            break;
        case OPT_RECON:
            if (parse_long(optarg, 1, 1000, &v))
                return usage_error("--recon", optarg, "must be a whole number in 1..1000");
            opt.recon_count = (int)v;
            break;
        case OPT_GREY:
            if (!strcmp(optarg, "luma"))
                opt.data.grey = DATASET_GREY_LUMA;
            else if (!strcmp(optarg, "first"))
                opt.data.grey = DATASET_GREY_FIRST;
            else
                return usage_error("--grey", optarg, "must be luma or first");
            break;
        case OPT_RESIZE:
            if (parse_size(optarg, &opt.data.resize_w, &opt.data.resize_h))
                return usage_error("--resize", optarg,
                                   "must be WIDTHxHEIGHT, e.g. 92x112, each 1..65536");
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

    nmf_status st = job_run(&opt);
    if (st == NMF_STATUS_OK)
        return 0;
    fprintf(stderr, "nmf-faces: error: %s\n", nmf_last_error());
    return st == NMF_STATUS_BAD_ARGUMENT ? EXIT_USAGE : EXIT_DATA;
}
