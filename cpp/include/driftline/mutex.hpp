// driftline/mutex.hpp -- the core's lock: never waits while its host holds a global lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "driftline/hot.hpp"

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

// Mutex: a lock (BasicLockable, Lockable) whose uncontended lock() and
// unlock() are one atomic instruction each, inline: the per-request paths take
// two or three locks, and a call into the C library's pthread functions per
// lock and unlock is more code for a server's other work to evict. A
// contended lock() calls the wait hooks around a blocking wait on a parking
// slot (a std::mutex and condition variable that the locks whose addresses
// hash to it share). Invariant that keeps this free of deadlock with the
// host's lock: no core code calls back into the host while holding a Mutex,
// so the only thread that holds a core lock and waits for the host's lock is
// one returning from a contended lock(); every host-lock holder that wants
// that core lock releases the host's lock first (the hooks), and the core
// lock's holder then proceeds. Not recursive, not fair (as std::mutex).
// Memory: 8 bytes.
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    if (DRIFTLINE_LIKELY(try_lock())) return;
    lock_contended();
  }
  bool try_lock() noexcept {
    std::uint32_t free = 0;
    return state_.compare_exchange_strong(free, 1, std::memory_order_acquire, std::memory_order_relaxed);
  }
  void unlock() noexcept {
    // Store, then load (both sequentially consistent): a waiter registers,
    // then tries the state again (lock_contended), so either it sees this
    // store and takes the lock, or this load sees it registered and wakes it.
    state_.store(0, std::memory_order_seq_cst);
    if (DRIFTLINE_UNLIKELY(waiters_.load(std::memory_order_seq_cst) != 0)) wake();
  }

 private:
  struct ParkingSlot {
    std::mutex mutex;
    std::condition_variable woken;
  };

  static ParkingSlot& parking_slot(const void* address) noexcept {
    static ParkingSlot slots[64];
    return slots[(reinterpret_cast<std::uintptr_t>(address) >> 4) % 64];
  }

  DRIFTLINE_COLD void lock_contended() {
    const WaitHooks* hooks = wait_hooks().load(std::memory_order_acquire);
    void* token = hooks != nullptr ? hooks->release() : nullptr;
    try {
      ParkingSlot& slot = parking_slot(this);
      std::unique_lock<std::mutex> parked(slot.mutex);
      waiters_.fetch_add(1, std::memory_order_seq_cst);
      for (;;) {
        std::uint32_t free = 0;
        if (state_.compare_exchange_strong(free, 1, std::memory_order_seq_cst, std::memory_order_seq_cst)) break;
        // Holding slot.mutex from the failed try until wait() releases it: an
        // unlock that saw this waiter wakes it only after (wake() takes slot.mutex).
        slot.woken.wait(parked);
      }
      waiters_.fetch_sub(1, std::memory_order_relaxed);
    } catch (...) {
      if (token != nullptr) hooks->reacquire(token);
      throw;
    }
    if (token != nullptr) hooks->reacquire(token);
  }

  DRIFTLINE_COLD void wake() noexcept {
    ParkingSlot& slot = parking_slot(this);
    { const std::lock_guard<std::mutex> parked(slot.mutex); }  // a waiter between its try and its wait() is now waiting
    slot.woken.notify_all();  // the slot's waiters of other locks try again and wait on
  }

  std::atomic<std::uint32_t> state_{0};    // 1 while held
  std::atomic<std::uint32_t> waiters_{0};  // threads in lock_contended
};

// The guard every core member uses.
using Lock = std::lock_guard<Mutex>;

}  // namespace driftline
