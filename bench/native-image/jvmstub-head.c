/* Experimental stand-in for libjvm.so so that the JDK's shared libjava/libnio/libnet/libzip can be
   loaded by a native image without HotSpot. Functions the image may reach are implemented; the
   rest report their name and abort. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>
#include <sched.h>
int JVM_ActiveProcessorCount(void) { cpu_set_t s; if (sched_getaffinity(0, sizeof(s), &s) == 0) return CPU_COUNT(&s); return (int) sysconf(_SC_NPROCESSORS_ONLN); }
long long JVM_NanoTime(void *env, void *c) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
long long JVM_CurrentTimeMillis(void *env, void *c) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec * 1000LL + t.tv_nsec / 1000000; }
long long JVM_GetNanoTimeAdjustment(void *env, void *c, long long off) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); long long s = t.tv_sec - off; if (s > 0xFFFFFFFFLL || s < -0xFFFFFFFFLL) return -1; return s * 1000000000LL + t.tv_nsec; }
void *JVM_FindLibraryEntry(void *h, const char *name) { return dlsym(h ? h : RTLD_DEFAULT, name); }
char *JVM_NativePath(char *p) { return p; }
void *JVM_RawMonitorCreate(void) { pthread_mutex_t *m = malloc(sizeof(*m)); pthread_mutex_init(m, NULL); return m; }
void JVM_RawMonitorDestroy(void *m) { pthread_mutex_destroy(m); free(m); }
int JVM_RawMonitorEnter(void *m) { return pthread_mutex_lock(m); }
void JVM_RawMonitorExit(void *m) { pthread_mutex_unlock(m); }
unsigned char JVM_IsUseContainerSupport(void) { return 0; }
unsigned char JVM_IsContainerized(void) { return 0; }
void JVM_Halt(int code) { _exit(code); }   /* Shutdown.halt0 */
/* no JMM: libmanagement_ext then reports that management is unavailable */
void *JVM_GetManagement(int version) { return NULL; }
static void missing(const char *n) { fprintf(stderr, "jvm stub: %s is not implemented\n", n); abort(); }
