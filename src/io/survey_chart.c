/* survey_chart.c - see survey_chart.h. PLplot keeps its state in globals:
 * one chart at a time, from one thread. */
#define _POSIX_C_SOURCE 200809L
#include "survey_chart.h"

#include "error.h"

#include <plplot.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CHART_DEVICE "pngcairo"

nmf_status survey_chart_check(void)
{
    const char *menu[128], *names[128], **menu_at = menu, **names_at = names;
    int count = 128; /* room for; then the devices found */
    plgDevs(&menu_at, &names_at, &count);
    for (int i = 0; i < count; i++)
        if (!strcmp(names[i], CHART_DEVICE))
            return NMF_STATUS_OK;
    return nmf_error(NMF_STATUS_INTERNAL,
                     "survey.png: PLplot has no %s device to draw the chart with; install "
                     "Debian's plplot-driver-cairo (scripts/deps does)", CHART_DEVICE);
}

/* PLplot reports a drawing error through its abort handler and goes on:
 * the first message is kept, for the error after plend. */
static char plplot_message[256];

static void keep_plplot_message(const char *message)
{
    if (!plplot_message[0])
        snprintf(plplot_message, sizeof plplot_message, "%s", message);
}

/* Colour map 0 as the chart uses it. */
enum { INK_BACKGROUND, INK_AXES, INK_ERROR, INK_NULL, INK_STABILITY, INK_SUGGESTED, INKS };

static void set_inks(void)
{
    static const int rgb[INKS][3] = {{255, 255, 255}, {0, 0, 0},      {200, 40, 30},
                                     {140, 140, 140}, {30, 90, 200}, {30, 150, 60}};
    plscmap0n(INKS);
    for (int i = 0; i < INKS; i++)
        plscol0(i, rgb[i][0], rgb[i][1], rgb[i][2]);
}

static void draw_series(const PLFLT *x, const double *y, size_t count, int ink, int style,
                        int symbol)
{
    PLFLT yy[count];
    for (size_t i = 0; i < count; i++)
        yy[i] = y[i];
    plcol0(ink);
    pllsty(style);
    plwidth(2.0);
    if (count > 1)
        plline((PLINT)count, x, yy);
    plpoin((PLINT)count, x, yy, symbol);
    pllsty(1);
    plwidth(1.0);
}

static double largest(const double *y, size_t count)
{
    double top = 0.0;
    for (size_t i = 0; i < count; i++)
        top = y[i] > top ? y[i] : top;
    return top;
}

static void draw(const survey_chart *c)
{
    const size_t count = c->count;
    PLFLT x[count];
    for (size_t i = 0; i < count; i++)
        x[i] = c->k[i];
    const double pad = count > 1 ? 0.03 * (c->k[count - 1] - c->k[0]) : 1.0;
    const double x0 = c->k[0] - pad, x1 = c->k[count - 1] + pad;
    double top = largest(c->err, count);
    if (c->null_err && largest(c->null_err, count) > top)
        top = largest(c->null_err, count);
    top = top > 0.0 ? 1.08 * top : 1.0;

    pladv(0);
    plvpor(0.09, c->stability ? 0.90 : 0.95, 0.12, 0.86);
    plwind(x0, x1, 0.0, top);
    plcol0(INK_AXES);
    plbox("bcnst", 0.0, 0, c->stability ? "bnstv" : "bcnstv", 0.0, 0);
    pllab("k (components)", "relative error ||V - WH|| / ||V||", c->title);
    if (c->suggested_k > 0) {
        plcol0(INK_SUGGESTED);
        pllsty(2);
        pljoin(c->suggested_k, 0.0, c->suggested_k, top);
        pllsty(1);
        char label[48];
        snprintf(label, sizeof label, "suggested k = %d", c->suggested_k);
        plptex(c->suggested_k, 0.94 * top, 1.0, 0.0, -0.03, label);
    }
    if (c->null_err)
        draw_series(x, c->null_err, count, INK_NULL, 3, 4);
    draw_series(x, c->err, count, INK_ERROR, 1, 17);

    /* The key, each series in its colour, above the frame: left, middle, right. */
    plschr(0.0, 0.85);
    plcol0(INK_ERROR);
    plmtex("t", 0.8, 0.0, 0.0, "— relative error (best restart)");
    if (c->null_err) {
        plcol0(INK_NULL);
        plmtex("t", 0.8, 0.5, 0.5, "- - shuffled data (--null)");
    }
    if (c->stability) {
        plcol0(INK_STABILITY);
        plmtex("t", 0.8, 1.0, 1.0, "stability across restarts —");
    }
    plschr(0.0, 1.0);
    if (c->stability) { /* on its own axis, on the right, 0..1 */
        plwind(x0, x1, 0.0, 1.05);
        plcol0(INK_AXES);
        plbox("", 0.0, 0, "cmstv", 0.0, 0);
        plcol0(INK_STABILITY);
        plmtex("r", 4.0, 0.5, 0.5, "stability (mean best-match cosine)");
        draw_series(x, c->stability, count, INK_STABILITY, 1, 22);
    }
}

nmf_status survey_chart_write(const char *path, const survey_chart *c)
{
    plplot_message[0] = '\0';
    plsabort(keep_plplot_message);
    plsdev(CHART_DEVICE);
    plsfnam(path);
    plspage(0.0, 0.0, 1000, 600, 0, 0);
    set_inks();
    plinit();
    plfontld(1);
    draw(c);
    plend();
    struct stat st;
    if (plplot_message[0])
        return nmf_error(NMF_STATUS_INTERNAL, "%s: PLplot: %s", path, plplot_message);
    if (stat(path, &st) != 0 || st.st_size == 0)
        return nmf_error(NMF_STATUS_IO, "%s: PLplot wrote no chart (disk full, or the folder "
                         "not writable?)", path);
    return NMF_STATUS_OK;
}
