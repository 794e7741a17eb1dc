// driftline/mutex.hpp -- the core's lock: never waits while its host holds a global lock.
#pragma once

#include <atomic>
#include <mutex>

namespace driftline {

// How a host runtime gives up its own global lock while one of its threads
// waits for a core lock, and takes it back afterwards. The Python bindings
// install hooks that release the GIL (when the waiting thread holds it): a
// thread that finds a core lock taken never stalls the interpreter while a
// batch running without the GIL finishes. release() returns a token, nullptr
// when there was nothing to release; reacquire(token) is called with every
// non-null token, after the core lock is taken.
struct WaitHooks {
  void* (*release)() = nullptr;
  void (*reacquire)(void* token) = nullptr;
};

inline std::atomic<const WaitHooks*>& wait_hooks() noexcept {
  static std::atomic<const WaitHooks*> hooks{nullptr};
  return hooks;
}

// Installs the hooks (nullptr: none), process-wide. `hooks` must outlive every
// lock taken afterwards (a static object).
inline void set_wait_hooks(const WaitHooks* hooks) noexcept { wait_hooks().store(hooks, std::memory_order_release); }

// Mutex: a std::mutex (BasicLockable, Lockable) whose uncontended lock() is a
// single try_lock, and whose contended lock() calls the wait hooks around the
// blocking wait. Invariant that keeps this free of deadlock with the host's
// lock: no core code calls back into the host while holding a Mutex, so the
// only thread that holds a core lock and waits for the host's lock is one
// returning from a contended lock(); every host-lock holder that wants that
// core lock releases the host's lock first (the hooks), and the core lock's
// holder then proceeds. Not recursive.
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    if (mutex_.try_lock()) return;
    const WaitHooks* hooks = wait_hooks().load(std::memory_order_acquire);
    void* token = hooks != nullptr ? hooks->release() : nullptr;
    try {
      mutex_.lock();
    } catch (...) {
      if (token != nullptr) hooks->reacquire(token);
      throw;
    }
    if (token != nullptr) hooks->reacquire(token);
  }
  bool try_lock() { return mutex_.try_lock(); }
  void unlock() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

// The guard every core member uses.
using Lock = std::lock_guard<Mutex>;

}  // namespace driftline
