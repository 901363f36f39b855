/* Experimental stand-ins for the Substrate VM C helper functions that the svm 25.0.2 builder
   expects to link against (normally shipped only inside GraalVM distributions). Written for a
   feasibility test; not complete, not tuned. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <semaphore.h>
#include <sched.h>
#include <locale.h>
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <jni.h>
#include "amd64cpufeatures.h"
#include "svm_locale.h"

/* CPU features: report none beyond the x86-64 baseline; the image is built for the host anyway. */
void determineCPUFeatures(CPUFeatures *f) { memset(f, 0, sizeof(*f)); }
int checkCPUFeatures(const char *mask) { (void) mask; return 0; }
int checkCPUFeaturesOrExit(const char *mask, const char *msg) { (void) mask; (void) msg; return 0; }

int getThreadId(void) { return (int) syscall(SYS_gettid); }
void *mremapP(void *old, size_t oldSize, size_t newSize, int flags, void *newAddr) {
  return mremap(old, oldSize, newSize, flags, newAddr);
}
int openSII(const char *path, int flags, int mode) { return open(path, flags, mode); }
int fprintfSD(FILE *s, const char *fmt, const char *a, int d) { return fprintf(s, fmt, a, d); }

/* jvm stub entry points called directly by the image */
void initialize(void) {}
int JVM_ActiveProcessorCount(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return (int) sysconf(_SC_NPROCESSORS_ONLN);
}

/* Not containerized: the image then reads physical memory and CPUs from the OS. */
int svm_container_initialize(int version) { (void) version; return 0; }
size_t svm_container_physical_memory(void) { return (size_t) sysconf(_SC_PHYS_PAGES) * (size_t) sysconf(_SC_PAGESIZE); }
int svm_container_active_processor_count(void) { return JVM_ActiveProcessorCount(); }
long svm_container_memory_limit_in_bytes(void) { return -1; }
long svm_container_memory_and_swap_limit_in_bytes(void) { return -1; }
long svm_container_memory_soft_limit_in_bytes(void) { return -1; }
long svm_container_memory_usage_in_bytes(void) { return -1; }
long svm_container_memory_max_usage_in_bytes(void) { return -1; }
long svm_container_rss_usage_in_bytes(void) { return -1; }
long svm_container_cache_usage_in_bytes(void) { return -1; }

/* Locale: a fixed C/English locale is enough for a gateway process. */
static svm_locale_props_t props;
int svm_initialize_locale(void) {
  props.display_language = props.format_language = "en";
  props.display_script = props.format_script = "";
  props.display_country = props.format_country = "";
  props.display_variant = props.format_variant = "";
  return SVM_LOCALE_INITIALIZATION_SUCCEEDED;
}
svm_locale_props_t *svm_get_locale(void) { return &props; }

/* Time zone id: $TZ, else the target of /etc/localtime, else UTC. Caller frees. */
char *SVM_FindJavaTZmd(const char *mappings, int len) {
  (void) mappings; (void) len;
  const char *tz = getenv("TZ");
  if (tz && *tz) return strdup(*tz == ':' ? tz + 1 : tz);
  char buf[4096]; ssize_t n = readlink("/etc/localtime", buf, sizeof(buf) - 1);
  if (n > 0) { buf[n] = 0; char *p = strstr(buf, "zoneinfo/"); if (p) return strdup(p + 9); }
  return strdup("UTC");
}

/* sun.misc.Signal support: a handler that records the signal and posts a semaphore. */
#define NSIG_MAX 65
static volatile sig_atomic_t pending[NSIG_MAX];
static sem_t sema; static int sema_open;
int cSunMiscSignal_open(void) { if (!sema_open && sem_init(&sema, 0, 0) == 0) sema_open = 1; return sema_open ? 0 : -1; }
int cSunMiscSignal_close(void) { if (sema_open) { sem_destroy(&sema); sema_open = 0; } return 0; }
int cSunMiscSignal_awaitSemaphore(void) { while (sem_wait(&sema) != 0) {} return 0; }
int cSunMiscSignal_signalSemaphore(void) { return sem_post(&sema); }
int cSunMiscSignal_signalRangeCheck(int s) { return s > 0 && s < NSIG_MAX; }
int cSunMiscSignal_checkPendingSignal(void) {
  for (int s = 1; s < NSIG_MAX; s++) if (pending[s]) { pending[s] = 0; return s; }
  return -1;
}
static void dispatch(int s) { if (s > 0 && s < NSIG_MAX) { pending[s] = 1; if (sema_open) sem_post(&sema); } }
void *cSunMiscSignal_signalHandlerFunctionPointer(void) { return (void *) dispatch; }

/* Static-library JNI_OnLoad variants: forward to the shared library's JNI_OnLoad if it has one. */
static jint forward(const char *lib, JavaVM *vm, void *r) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
  jint (*f)(JavaVM *, void *) = h ? (jint (*)(JavaVM *, void *)) dlsym(h, "JNI_OnLoad") : NULL;
  jint v = f ? f(vm, r) : JNI_VERSION_1_8;
  /* a library linked in the image must report at least 1.8 */
  return v < JNI_VERSION_1_8 ? JNI_VERSION_1_8 : v;
}
jint JNI_OnLoad_java(JavaVM *vm, void *r) { return forward("libjava.so", vm, r); }
jint JNI_OnLoad_nio(JavaVM *vm, void *r) { return forward("libnio.so", vm, r); }
jint JNI_OnLoad_net(JavaVM *vm, void *r) { return forward("libnet.so", vm, r); }
jint JNI_OnLoad_zip(JavaVM *vm, void *r) { return forward("libzip.so", vm, r); }
jint JNI_OnLoad_extnet(JavaVM *vm, void *r) { return forward("libextnet.so", vm, r); }
jint JNI_OnLoad_management_ext(JavaVM *vm, void *r) { return forward("libmanagement_ext.so", vm, r); }
