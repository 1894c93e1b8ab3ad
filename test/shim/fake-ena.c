// A fake ENA NIC where the kernel boundary is: an LD_PRELOAD library that
// answers SIOCETHTOOL for configured device names and passes every other
// ioctl to the real one. It lets the unchanged addon and CLI meet an "ena"
// device on a machine without one, including the ways real ENA misbehaves:
// slow admin commands, timeouts, all-zero failed reads, device resets,
// changing stat counts, rising admin-queue error counters.
//
//   ETHBURST_FAKE_ENA="ena0,ena1=/path/ena1.script"
//   ETHBURST_FAKE_ENA_OLD_KERNEL=1   GSTATS/GSTRINGS write the driver's current
//                                    count whatever the caller asked (kernels
//                                    before 7b07be1ff1cb); default: a count
//                                    mismatch answers n_stats = 0 (fixed kernels)
//
// Script: one directive per line, '#' starts a comment. Times are ms since
// the shim first saw an ethtool call for the device.
//   queues N | phc on|off | version STR        (initial layout, no time)
//   customer 5|6                        customer metrics reported: 6 (default)
//                                       or the first five, as the ENI-stats
//                                       path and older devices print them
//   AT burst STAT PACKETS DURATION_MS   spread PACKETS over DURATION_MS
//   AT add STAT N                       STAT += N (allowance or admin-queue stat)
//   AT zero CALLS                       next CALLS GSTATS: customer metrics all 0
//   AT refresh MS | refresh MS          the device refreshes its customer metrics
//                                       only every MS ms (values held between
//                                       refreshes, as a slow device would); 0:
//                                       at every read (default)
//   AT reset                            device reset: counters restart at 0
//   AT errno NAME CALLS                 next CALLS GSTATS fail (EBUSY ETIMEDOUT ENODEV EOPNOTSUPP EIO)
//   AT latency MS                       every GSTATS takes MS from now on (0: none)
//   AT queues N | AT phc on|off         layout change
//   AT gone | AT back                   every call ENODEV / answering again
//   AT limit STAT RATE [BUCKET_MS]      from AT on, STAT counts the real traffic
//                                       over RATE (a token bucket of BUCKET_MS of
//                                       RATE, default 300): pps and linklocal
//                                       count packets both ways, bw_in received
//                                       bits, bw_out sent bits. RATE 0: off
//
// A name that is also a real interface (a veth the test made) is an overlay:
// its queue 0 packet and byte counters are the interface's own (sysfs,
// read at each GSTATS), so traffic the test sends shows as the device's, and
// `limit` turns that traffic into drops. Unlike a real ENA, the packets over
// the limit still pass: the onset ethburst measures is the offered rate.
//
// The stat names mirror src/aggregation/ena-stats.ts enaStatNames() with its defaults
// (driver 2.16+, all six customer metrics, SRD, no XDP TX queues); a test
// checks that they agree.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVS 16
#define MAX_ACTIONS 256
#define MAX_QUEUES 64
#define MAX_STATS 4096

static const char *GLOBAL[] = {"total_resets",
                               "reset_fail",
                               "tx_timeout",
                               "wd_expired",
                               "admin_q_pause",
                               "bad_tx_req_id",
                               "bad_rx_req_id",
                               "bad_rx_desc_num",
                               "missing_intr",
                               "suspected_poll_starvation",
                               "missing_tx_cmpl",
                               "rx_desc_malformed",
                               "tx_desc_malformed",
                               "invalid_state",
                               "os_netdev_wd",
                               "missing_admin_interrupt",
                               "admin_to",
                               "device_request_reset",
                               "missing_first_intr",
                               "suspend",
                               "resume",
                               "interface_down",
                               "interface_up"};
static const char *CUSTOMER[] = {"bw_in_allowance_exceeded",     "bw_out_allowance_exceeded",
                                 "pps_allowance_exceeded",       "conntrack_allowance_exceeded",
                                 "linklocal_allowance_exceeded", "conntrack_allowance_available"};
static const char *SRD[] = {"ena_srd_mode", "ena_srd_tx_pkts", "ena_srd_eligible_tx_pkts", "ena_srd_rx_pkts",
                            "ena_srd_resource_utilization"};
static const char *ADMIN[] = {"aborted_cmd", "submitted_cmd", "completed_cmd", "out_of_space", "no_completion"};
static const char *PHC[] = {"phc_cnt", "phc_exp", "phc_skp", "phc_err"};
static const char *TXQ[] = {"tx_poll",    "doorbells",        "unmask_interrupt", "cnt",
                            "bytes",      "queue_stop",       "queue_wakeup",     "dma_mapping_err",
                            "linearize",  "linearize_failed", "napi_comp",        "prepare_ctx_err",
                            "bad_req_id", "llq_buffer_copy",  "missed_tx"};
static const char *RXQ[] = {"cnt",        "bytes",           "rx_copybreak_pkt", "csum_good",       "refil_partial",
                            "csum_bad",   "page_alloc_fail", "skb_alloc_fail",   "dma_mapping_err", "bad_desc_num",
                            "bad_req_id", "empty_rx_ring",   "csum_unchecked",   "xdp_aborted",     "xdp_drop",
                            "xdp_pass",   "xdp_tx",          "xdp_invalid",      "xdp_redirect",    "lpc_warm_up",
                            "lpc_full",   "lpc_wrong_numa"};
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

// Admin-queue stat positions in ADMIN[].
enum { A_ABORTED = 0, A_SUBMITTED, A_COMPLETED, A_OUT_OF_SPACE, A_NO_COMPLETION };

enum kind { K_BURST, K_ADD, K_ZERO, K_RESET, K_ERRNO, K_LATENCY, K_QUEUES, K_PHC, K_GONE, K_BACK, K_REFRESH, K_LIMIT };

struct action {
  double at_ms;
  enum kind kind;
  int stat;  // 0-4 allowance, 100+i admin
  double a, b;
};

struct burst {
  int stat;
  double packets, duration_ms, start_ms, added;
};

// rx_packets, tx_packets, rx_bytes, tx_bytes: the order of TRAFFIC_NAMES.
static const char *REAL[] = {"rx_packets", "tx_packets", "rx_bytes", "tx_bytes"};

struct limit {
  double rate, bucket_ms, tokens;
  int on;
};

struct dev {
  char name[IFNAMSIZ];
  // Overlay of a real interface: its counters at the last GSTATS, and when.
  int real;
  uint64_t real_now[4], real_prev[4];
  double real_prev_ms;
  int real_seen;
  struct limit limits[5];
  int queues, phc, gone, customer;
  char version[32];
  uint64_t allowance[5];
  uint64_t available;
  // What the device last published: the customer metrics as of the last refresh.
  uint64_t shown[6];
  double refresh_ms, refreshed_at_ms;
  int refreshed;
  uint64_t admin[5];
  uint64_t total_resets, calls;
  int zero_calls, err_calls, err;
  double latency_ms;
  struct action actions[MAX_ACTIONS];
  int n_actions, next_action;
  struct burst bursts[32];
  int n_bursts;
  int64_t t0_ns;
  int started;
  char names[MAX_STATS][ETH_GSTRING_LEN];
  int n_names;
};

static struct dev devs[MAX_DEVS];
static int n_devs = -1;
static int old_kernel;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int (*real_ioctl)(int, unsigned long, ...);

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void add_name(struct dev *d, const char *fmt, const char *a, int q) {
  if (d->n_names >= MAX_STATS) return;
  char *out = d->names[d->n_names++];
  memset(out, 0, ETH_GSTRING_LEN);
  if (q < 0)
    snprintf(out, ETH_GSTRING_LEN, fmt, a);
  else
    snprintf(out, ETH_GSTRING_LEN, fmt, q, a);
}

// Same order as enaStatNames() in src/aggregation/ena-stats.ts.
static void build_layout(struct dev *d) {
  d->n_names = 0;
  for (int i = 0; i < N(GLOBAL); i++) add_name(d, "%s", GLOBAL[i], -1);
  for (int i = 0; i < d->customer; i++) add_name(d, "%s", CUSTOMER[i], -1);
  for (int i = 0; i < N(SRD); i++) add_name(d, "%s", SRD[i], -1);
  for (int i = 0; i < N(ADMIN); i++) add_name(d, "ena_admin_q_%s", ADMIN[i], -1);
  if (d->phc)
    for (int i = 0; i < N(PHC); i++) add_name(d, "%s", PHC[i], -1);
  add_name(d, "%s", "num_of_active_io_queues", -1);
  for (int q = 0; q < d->queues; q++) {
    for (int i = 0; i < N(TXQ); i++) add_name(d, "queue_%d_tx_%s", TXQ[i], q);
    for (int i = 0; i < N(RXQ); i++) add_name(d, "queue_%d_rx_%s", RXQ[i], q);
  }
}

static int stat_index(const char *s) {
  for (int i = 0; i < 5; i++)
    if (!strcmp(s, CUSTOMER[i])) return i;
  for (int i = 0; i < N(ADMIN); i++) {
    char full[64];
    snprintf(full, sizeof(full), "ena_admin_q_%s", ADMIN[i]);
    if (!strcmp(s, ADMIN[i]) || !strcmp(s, full)) return 100 + i;
  }
  return -1;
}

static int errno_named(const char *s) {
  static const struct {
    const char *n;
    int e;
  } map[] = {{"EBUSY", EBUSY}, {"ETIMEDOUT", ETIMEDOUT}, {"ENODEV", ENODEV}, {"EOPNOTSUPP", EOPNOTSUPP},
             {"EIO", EIO},     {"EAGAIN", EAGAIN},       {"ENOMEM", ENOMEM}};
  for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (!strcmp(s, map[i].n)) return map[i].e;
  return atoi(s) > 0 ? atoi(s) : EIO;
}

static void load_script(struct dev *d, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "fake-ena: cannot open script %s for %s\n", path, d->name);
    return;
  }
  char line[512];
  int lineno = 0;
  while (fgets(line, sizeof(line), f)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char w[5][128] = {{0}};
    int n = sscanf(line, "%127s %127s %127s %127s %127s", w[0], w[1], w[2], w[3], w[4]);
    if (n <= 0) continue;
    if (!strcmp(w[0], "queues")) {
      d->queues = atoi(w[1]);
      continue;
    }
    if (!strcmp(w[0], "phc")) {
      d->phc = !strcmp(w[1], "on");
      continue;
    }
    if (!strcmp(w[0], "customer")) {
      d->customer = atoi(w[1]) == 5 ? 5 : 6;
      continue;
    }
    if (!strcmp(w[0], "refresh")) {
      d->refresh_ms = atof(w[1]);
      continue;
    }
    if (!strcmp(w[0], "version")) {
      snprintf(d->version, sizeof(d->version), "%.31s", w[1]);
      continue;
    }
    if (d->n_actions >= MAX_ACTIONS) break;
    struct action *a = &d->actions[d->n_actions];
    memset(a, 0, sizeof(*a));
    a->at_ms = atof(w[0]);
    const char *k = w[1];
    if (!strcmp(k, "burst")) {
      a->kind = K_BURST;
      a->stat = stat_index(w[2]);
      a->a = atof(w[3]);
      a->b = atof(w[4]);
    } else if (!strcmp(k, "add")) {
      a->kind = K_ADD;
      a->stat = stat_index(w[2]);
      a->a = atof(w[3]);
    } else if (!strcmp(k, "zero")) {
      a->kind = K_ZERO;
      a->a = n > 2 ? atof(w[2]) : 1;
    } else if (!strcmp(k, "reset")) {
      a->kind = K_RESET;
    } else if (!strcmp(k, "errno")) {
      a->kind = K_ERRNO;
      a->stat = errno_named(w[2]);
      a->a = n > 3 ? atof(w[3]) : 1;
    } else if (!strcmp(k, "latency")) {
      a->kind = K_LATENCY;
      a->a = atof(w[2]);
    } else if (!strcmp(k, "queues")) {
      a->kind = K_QUEUES;
      a->a = atof(w[2]);
    } else if (!strcmp(k, "phc")) {
      a->kind = K_PHC;
      a->a = !strcmp(w[2], "on");
    } else if (!strcmp(k, "gone")) {
      a->kind = K_GONE;
    } else if (!strcmp(k, "back")) {
      a->kind = K_BACK;
    } else if (!strcmp(k, "refresh")) {
      a->kind = K_REFRESH;
      a->a = atof(w[2]);
    } else if (!strcmp(k, "limit")) {
      a->kind = K_LIMIT;
      a->stat = stat_index(w[2]);
      a->a = atof(w[3]);
      a->b = n > 4 ? atof(w[4]) : 300;
      if (a->stat >= 5 || a->stat == 3) a->stat = -1;  // conntrack and admin stats have no traffic limit
    } else {
      fprintf(stderr, "fake-ena: %s:%d: unknown action %s\n", path, lineno, k);
      continue;
    }
    if ((a->kind == K_BURST || a->kind == K_ADD || a->kind == K_LIMIT) && a->stat < 0) {
      fprintf(stderr, "fake-ena: %s:%d: unknown stat %s\n", path, lineno, w[2]);
      continue;
    }
    d->n_actions++;
  }
  fclose(f);
}

static void init(void) {
  if (n_devs >= 0) return;
  real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
  n_devs = 0;
  old_kernel = getenv("ETHBURST_FAKE_ENA_OLD_KERNEL") && !strcmp(getenv("ETHBURST_FAKE_ENA_OLD_KERNEL"), "1");
  const char *spec = getenv("ETHBURST_FAKE_ENA");
  if (!spec) return;
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s", spec);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok && n_devs < MAX_DEVS; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    struct dev *d = &devs[n_devs];
    memset(d, 0, sizeof(*d));
    char *eq = strchr(tok, '=');
    if (eq) *eq = 0;
    if (!*tok || strlen(tok) >= IFNAMSIZ) continue;
    snprintf(d->name, sizeof(d->name), "%s", tok);
    d->queues = 4;
    d->customer = 6;
    d->available = 50000;
    snprintf(d->version, sizeof(d->version), "%s", "2.16.0g");
    if (eq) load_script(d, eq + 1);
    char probe[96];
    snprintf(probe, sizeof(probe), "/sys/class/net/%s/statistics", d->name);
    d->real = access(probe, F_OK) == 0;
    build_layout(d);
    n_devs++;
  }
}

static struct dev *find(const char *name) {
  for (int i = 0; i < n_devs; i++)
    if (!strncmp(devs[i].name, name, IFNAMSIZ)) return &devs[i];
  return NULL;
}

static void add_stat(struct dev *d, int stat, uint64_t n) {
  if (stat >= 100)
    d->admin[stat - 100] += n;
  else if (stat >= 0)
    d->allowance[stat] += n;
}

// Applies every action that is due, and the bursts in progress.
static void advance(struct dev *d) {
  int64_t now = mono_ns();
  if (!d->started) {
    d->started = 1;
    d->t0_ns = now;
  }
  double t = (now - d->t0_ns) / 1e6;
  while (d->next_action < d->n_actions && d->actions[d->next_action].at_ms <= t) {
    struct action *a = &d->actions[d->next_action++];
    switch (a->kind) {
      case K_BURST:
        if (d->n_bursts < 32)
          d->bursts[d->n_bursts++] = (struct burst){a->stat, a->a, a->b > 0 ? a->b : 1, a->at_ms, 0};
        break;
      case K_ADD:
        add_stat(d, a->stat, (uint64_t)a->a);
        break;
      case K_ZERO:
        d->zero_calls = (int)a->a;
        break;
      case K_RESET:
        memset(d->allowance, 0, sizeof(d->allowance));
        memset(d->admin, 0, sizeof(d->admin));
        d->calls = 0;
        d->total_resets++;
        break;
      case K_ERRNO:
        d->err = a->stat;
        d->err_calls = (int)a->a;
        break;
      case K_LATENCY:
        d->latency_ms = a->a;
        break;
      case K_QUEUES:
        d->queues = (int)a->a > MAX_QUEUES ? MAX_QUEUES : (int)a->a;
        build_layout(d);
        break;
      case K_PHC:
        d->phc = (int)a->a;
        build_layout(d);
        break;
      case K_GONE:
        d->gone = 1;
        break;
      case K_BACK:
        d->gone = 0;
        break;
      case K_REFRESH:
        d->refresh_ms = a->a;
        break;
      case K_LIMIT: {
        struct limit *l = &d->limits[a->stat];
        l->rate = a->a;
        l->bucket_ms = a->b;
        l->tokens = a->a * a->b / 1000;
        l->on = a->a > 0;
        break;
      }
    }
  }
  int live = 0;
  for (int i = 0; i < d->n_bursts; i++) {
    struct burst *b = &d->bursts[i];
    double frac = (t - b->start_ms) / b->duration_ms;
    if (frac > 1) frac = 1;
    double due = b->packets * frac;
    uint64_t now_add = (uint64_t)(due - b->added);
    add_stat(d, b->stat, now_add);
    b->added += (double)now_add;
    if (b->added < b->packets) d->bursts[live++] = *b;
  }
  d->n_bursts = live;
}

static int read_u64(const char *dev, const char *stat, uint64_t *out) {
  char path[128];
  snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", dev, stat);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  unsigned long long v = 0;
  int ok = fscanf(f, "%llu", &v) == 1;
  fclose(f);
  if (!ok) return -1;
  *out = (uint64_t)v;
  return 0;
}

// An overlay reads the interface's counters, and each limit turns what the
// interface carried since the last read beyond its rate into drops.
static void read_real(struct dev *d) {
  if (!d->real) return;
  for (int i = 0; i < 4; i++) read_u64(d->name, REAL[i], &d->real_now[i]);
  double t = (mono_ns() - d->t0_ns) / 1e6;
  if (d->real_seen) {
    double dt = (t - d->real_prev_ms) / 1000;
    double packets = (double)(d->real_now[0] - d->real_prev[0]) + (double)(d->real_now[1] - d->real_prev[1]);
    double rx_bits = 8.0 * (double)(d->real_now[2] - d->real_prev[2]);
    double tx_bits = 8.0 * (double)(d->real_now[3] - d->real_prev[3]);
    for (int s = 0; s < 5; s++) {
      struct limit *l = &d->limits[s];
      if (!l->on) continue;
      double used = s == 0 ? rx_bits : s == 1 ? tx_bits : packets;
      double cap = l->rate * l->bucket_ms / 1000;
      l->tokens += l->rate * dt;
      if (l->tokens > cap) l->tokens = cap;
      l->tokens -= used;
      if (l->tokens < 0) {
        // Counted in packets: bits over a bandwidth limit, in 1,500-byte packets.
        double over = -l->tokens;
        d->allowance[s] += (uint64_t)(s <= 1 ? over / 12000 + 0.5 : over + 0.5);
        l->tokens = 0;
      }
    }
  }
  memcpy(d->real_prev, d->real_now, sizeof(d->real_now));
  d->real_prev_ms = t;
  d->real_seen = 1;
}

// The device publishes its customer metrics at its own pace: at every read,
// or every refresh_ms on the device's clock. Connections come and go, so the
// available gauge moves a little with every publication, as on a live node.
static void refresh(struct dev *d) {
  double t = (mono_ns() - d->t0_ns) / 1e6;
  if (d->refresh_ms > 0 && d->refreshed && t - d->refreshed_at_ms < d->refresh_ms) return;
  if (d->refresh_ms > 0 && d->refreshed)
    d->refreshed_at_ms += d->refresh_ms * (double)(int64_t)((t - d->refreshed_at_ms) / d->refresh_ms);
  else
    d->refreshed_at_ms = t;
  d->refreshed = 1;
  for (int i = 0; i < 5; i++) d->shown[i] = d->allowance[i];
  d->shown[5] = d->available - (uint64_t)(d->calls % 17);
}

static uint64_t value_of(struct dev *d, const char *name, int zero) {
  for (int i = 0; i < 6; i++)
    if (!strcmp(name, CUSTOMER[i])) return zero ? 0 : d->shown[i];
  if (!strncmp(name, "ena_admin_q_", 12)) {
    for (int i = 0; i < N(ADMIN); i++)
      if (!strcmp(name + 12, ADMIN[i])) {
        if (i == A_SUBMITTED || i == A_COMPLETED) return d->calls + d->admin[i];
        return d->admin[i];
      }
  }
  if (!strcmp(name, "total_resets")) return d->total_resets;
  if (!strcmp(name, "interface_up")) return 1;
  if (!strcmp(name, "num_of_active_io_queues")) return (uint64_t)d->queues;
  int q;
  char rest[ETH_GSTRING_LEN];
  if (sscanf(name, "queue_%d_%31s", &q, rest) == 2) {
    if (d->real) {
      if (q != 0) return 0;
      if (!strcmp(rest, "rx_cnt")) return d->real_now[0];
      if (!strcmp(rest, "tx_cnt")) return d->real_now[1];
      if (!strcmp(rest, "rx_bytes")) return d->real_now[2];
      if (!strcmp(rest, "tx_bytes")) return d->real_now[3];
      return 0;
    }
    if (!strcmp(rest, "tx_cnt") || !strcmp(rest, "rx_cnt")) return d->calls * (uint64_t)(q + 1);
    if (!strcmp(rest, "tx_bytes") || !strcmp(rest, "rx_bytes")) return d->calls * (uint64_t)(q + 1) * 1500;
  }
  return 0;
}

static void sleep_ms(double ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

// Returns 0 or an errno, like the kernel's dev_ethtool().
static int answer(struct dev *d, void *data) {
  uint32_t cmd;
  memcpy(&cmd, data, sizeof(cmd));
  advance(d);
  if (d->gone) return ENODEV;
  switch (cmd) {
    case ETHTOOL_GDRVINFO: {
      struct ethtool_drvinfo *info = data;
      memset(info, 0, sizeof(*info));
      info->cmd = cmd;
      snprintf(info->driver, sizeof(info->driver), "ena");
      snprintf(info->version, sizeof(info->version), "%s", d->version);
      snprintf(info->bus_info, sizeof(info->bus_info), "0000:00:%02x.0", (int)(d - devs) + 5);
      info->n_stats = (uint32_t)d->n_names;
      return 0;
    }
    case ETHTOOL_GSSET_INFO: {
      struct ethtool_sset_info *s = data;
      uint64_t mask = s->sset_mask;
      s->sset_mask = 0;
      if (mask & (1ULL << ETH_SS_STATS)) {
        s->sset_mask = 1ULL << ETH_SS_STATS;
        s->data[0] = (uint32_t)d->n_names;
      }
      return 0;
    }
    case ETHTOOL_GSTRINGS: {
      struct ethtool_gstrings *gs = data;
      if (gs->string_set != ETH_SS_STATS) return EOPNOTSUPP;
      // Like every kernel: the driver's count, whatever len the caller set.
      gs->len = (uint32_t)d->n_names;
      memcpy(gs->data, d->names, (size_t)d->n_names * ETH_GSTRING_LEN);
      return 0;
    }
    case ETHTOOL_GSTATS: {
      struct ethtool_stats *st = data;
      double latency = d->latency_ms;
      int fail = 0;
      if (d->err_calls > 0) {
        d->err_calls--;
        fail = d->err;
      }
      int zero = 0;
      if (!fail && d->zero_calls > 0) {
        d->zero_calls--;
        zero = 1;
      }
      d->calls++;
      read_real(d);
      refresh(d);
      if (!fail && (uint32_t)d->n_names != st->n_stats && !old_kernel) {
        st->n_stats = 0;  // what a fixed kernel answers to a stale count
      } else if (!fail) {
        st->n_stats = (uint32_t)d->n_names;
        for (int i = 0; i < d->n_names; i++) st->data[i] = value_of(d, d->names[i], zero);
      }
      // The admin command takes its time outside our lock, as the device would.
      pthread_mutex_unlock(&mu);
      sleep_ms(latency);
      pthread_mutex_lock(&mu);
      return fail;
    }
    default:
      return EOPNOTSUPP;
  }
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  pthread_mutex_lock(&mu);
  init();
  if (request == SIOCETHTOOL && arg) {
    struct ifreq *ifr = arg;
    struct dev *d = find(ifr->ifr_name);
    if (d) {
      int err = answer(d, ifr->ifr_data);
      pthread_mutex_unlock(&mu);
      if (err) {
        errno = err;
        return -1;
      }
      return 0;
    }
  }
  pthread_mutex_unlock(&mu);
  return real_ioctl(fd, request, arg);
}
