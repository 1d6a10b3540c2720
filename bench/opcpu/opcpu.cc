// Preloaded into a tsnas or a PyTorch process (LD_PRELOAD), this records,
// for every libtorch op, the CPU time of the thread that ran it (self time,
// nested ops subtracted) through libtorch's RecordFunction callbacks, and at
// exit writes per-op totals, the time under top-level ops and the process's
// CPU time to $OPCPU_OUT as JSON. CPU time, unlike the wall-clock durations of
// torch.autograd.profiler, hardly changes when other jobs share the machine.
// Built and used by bench/op_cpu.mjs.
#include <ATen/record_function.h>
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

double threadCpuUs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

double processCpuUs() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
}

struct Frame {
  double start;
  double child;
};
struct Stat {
  double self = 0, total = 0;
  long calls = 0;
};

thread_local std::vector<Frame> stack;
std::mutex mu;
std::map<std::string, Stat> stats;
double topLevelUs = 0;
double processStartUs = 0;

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction&) {
  stack.push_back({threadCpuUs(), 0});
  return nullptr;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext*) {
  if (stack.empty()) return;  // began before the callback was added
  Frame f = stack.back();
  stack.pop_back();
  double total = threadCpuUs() - f.start;
  if (!stack.empty()) stack.back().child += total;
  std::lock_guard<std::mutex> lock(mu);
  Stat& s = stats[fn.name()];
  s.self += total - f.child;
  s.total += total;
  s.calls++;
  if (stack.empty()) topLevelUs += total;
}

void writeStats() {
  const char* out = std::getenv("OPCPU_OUT");
  if (!out) return;
  FILE* f = std::fopen(out, "w");
  if (!f) return;
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(f, "{\"process_cpu_us\": %.1f, \"top_level_us\": %.1f, \"ops\": {", processCpuUs() - processStartUs, topLevelUs);
  bool first = true;
  for (const auto& [name, s] : stats) {
    std::fprintf(f, "%s\n\"", first ? "" : ",");
    for (char c : name) {
      if (c == '"' || c == '\\') std::fputc('\\', f);
      std::fputc(c, f);
    }
    std::fprintf(f, "\": {\"self_us\": %.1f, \"total_us\": %.1f, \"calls\": %ld}", s.self, s.total, s.calls);
    first = false;
  }
  std::fprintf(f, "}}\n");
  std::fclose(f);
}

struct Install {
  Install() {
    processStartUs = processCpuUs();
    at::addGlobalCallback(at::RecordFunctionCallback(onStart, onEnd));
    std::atexit(writeStats);
  }
} install;

}  // namespace
