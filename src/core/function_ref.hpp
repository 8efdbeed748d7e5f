// A non-owning reference to a callable (as C++26's std::function_ref): two pointers, never allocates.
// parallel_for and friends take their loop body as one, so that a lambda with many captures does not
// heap-allocate the way binding it to a std::function does (libstdc++ stores at most 16 bytes in
// place), dozens of times per generated token. The callable must outlive the function_ref: pass
// lambdas straight to the call, do not keep the reference.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace lowbit {

template <class Sig>
class function_ref;

template <class R, class... Args>
class function_ref<R(Args...)> {
public:
    // Implicit, as binding a lambda to a std::function parameter is.
    template <class F, class = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, function_ref> &&
                                                std::is_invocable_r_v<R, F&, Args...>>>
    function_ref(F&& f) noexcept  // NOLINT(google-explicit-constructor)
        : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          call_(&invoke<std::remove_reference_t<F>>) {}

    R operator()(Args... a) const { return call_(obj_, std::forward<Args>(a)...); }

private:
    template <class F>
    static R invoke(void* o, Args... a) {
        return (*static_cast<F*>(o))(std::forward<Args>(a)...);
    }

    void* obj_;
    R (*call_)(void*, Args...);
};

}  // namespace lowbit
