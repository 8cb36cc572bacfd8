/*
 * Keeps the prebuilt binaries loadable with GCC 11's libstdc++ (RHEL 9,
 * Amazon Linux 2023: GLIBCXX_3.4.29). Compiled only into them (binding.gyp,
 * static_deps=1).
 *
 * GCC 12's headers bind std::condition_variable::wait(unique_lock&) to a new
 * symbol version, GLIBCXX_3.4.30, that differs from the GLIBCXX_3.4.11 one
 * only in letting a pthread cancellation unwind through it (GCC PR 103382);
 * nothing here cancels threads. The link wraps every reference to it
 * (-Wl,--wrap=..., from our objects and from libfaiss.a) and this wrapper
 * calls the 3.4.11 version, present in every libstdc++ since GCC 4.4.
 */
#define CV_WAIT _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE
#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

/* std::condition_variable::wait(std::unique_lock<std::mutex>&): (this, lock). */
void faiss_native_cv_wait_3_4_11(void *cv, void *lock);
__asm__(".symver faiss_native_cv_wait_3_4_11, " STR(CV_WAIT) "@GLIBCXX_3.4.11");

__attribute__((visibility("hidden"))) void CAT(__wrap_, CV_WAIT)(void *cv, void *lock) {
  faiss_native_cv_wait_3_4_11(cv, lock);
}
