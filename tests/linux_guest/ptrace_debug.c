/*
 * A guest's own debugger: ptrace with AArch64 self-hosted debug.
 *
 * Each check forks a fresh child that stops itself (PTRACE_TRACEME +
 * raise(SIGSTOP)) and then runs child_body(): stepped_function(), a store to
 * `watched` through watch_store(), a call to bp_target(), and exits with status
 * 0 if the store took effect. The parent (the "debugger") drives it:
 *
 *   info        NT_ARM_HW_BREAK / NT_ARM_HW_WATCH dbg_info: at least one slot of
 *               each, debug architecture ARMv8 (6) or later.
 *   singlestep  PTRACE_SINGLESTEP from the stop to stepped_function's entry, then
 *               through it: exactly STEP_COUNT steps until the PC leaves it, each
 *               a SIGTRAP with si_code TRAP_TRACE (MDSCR_EL1.SS, the Software
 *               Step exception).
 *   watchpoint  a store watchpoint (NT_ARM_HW_WATCH) on `watched`: SIGTRAP with
 *               TRAP_HWBKPT, si_addr = &watched, PC at the store, which has not
 *               been performed; with the watchpoint removed the child completes.
 *   breakpoint  an execution breakpoint (NT_ARM_HW_BREAK) on bp_target: SIGTRAP
 *               with TRAP_HWBKPT, PC = si_addr = bp_target; removed, the child
 *               completes.
 *
 * Output: one `PTRACE-DEBUG OK <name>: ...` or `PTRACE-DEBUG FAIL <name>: ...`
 * line per check, then `PTRACE-DEBUG SUMMARY: <ok> OK, <fail> FAIL`. The exit
 * status is 0 only if every check passed.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asm/ptrace.h>

#ifndef TRAP_TRACE
#define TRAP_TRACE 2
#endif
#ifndef TRAP_HWBKPT
#define TRAP_HWBKPT 4
#endif

/* Loop iterations in stepped_function. */
#define STEP_LOOPS 10
/* Its instructions as executed: mov, STEP_LOOPS x (subs, b.ne), ret. */
#define STEP_COUNT (1 + 2 * STEP_LOOPS + 1)
#define STR2(x) #x
#define STR(x) STR2(x)

/* Upper bounds, so that a debug feature that does not work cannot hang us. */
#define MAX_STEPS_TO_ENTRY 100000
#define MAX_STEPS_INSIDE 1000
#define TIMEOUT_SECONDS 120

void stepped_function(void);
extern const char stepped_function_end[];
void watch_store(volatile uint64_t *where, uint64_t value);
void bp_target(void);

__asm__(
    "    .text\n"
    "    .balign 16\n"
    "    .globl stepped_function\n"
    "    .type stepped_function, %function\n"
    "stepped_function:\n"
    "    mov     x0, #" STR(STEP_LOOPS) "\n"
    "1:  subs    x0, x0, #1\n"
    "    b.ne    1b\n"
    "    ret\n"
    "    .globl stepped_function_end\n"
    "stepped_function_end:\n"
    "    .size stepped_function, . - stepped_function\n"
    "\n"
    "    .balign 16\n"
    "    .globl watch_store\n"
    "    .type watch_store, %function\n"
    "watch_store:\n"
    "    str     x1, [x0]\n"
    "    ret\n"
    "    .size watch_store, . - watch_store\n"
    "\n"
    "    .balign 16\n"
    "    .globl bp_target\n"
    "    .type bp_target, %function\n"
    "bp_target:\n"
    "    nop\n"
    "    ret\n"
    "    .size bp_target, . - bp_target\n");

#define WATCHED_INITIAL 0x1111111111111111ULL
#define WATCHED_STORED 0x2a

/* The watched variable, alone in its doubleword. */
volatile uint64_t watched __attribute__((aligned(64))) = WATCHED_INITIAL;

static int oks, fails;
static const char *current_check = "start";

static void ok(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(const char *verdict, const char *name, const char *fmt,
                   va_list ap) {
    printf("PTRACE-DEBUG %s %s: ", verdict, name);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

static void ok(const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report("OK", name, fmt, ap);
    va_end(ap);
    oks++;
}

static void fail(const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report("FAIL", name, fmt, ap);
    va_end(ap);
    fails++;
}

static void on_alarm(int sig) {
    (void)sig;
    char buf[200];
    int n = snprintf(buf, sizeof buf,
                     "PTRACE-DEBUG FAIL %s: no result within %d s\n"
                     "PTRACE-DEBUG SUMMARY: %d OK, %d FAIL\n",
                     current_check, TIMEOUT_SECONDS, oks, fails + 1);
    if (n > 0)
        (void)!write(1, buf, (size_t)n);
    _exit(1);
}

static void child_body(void) {
    stepped_function();
    watch_store(&watched, WATCHED_STORED);
    bp_target();
    _exit(watched == WATCHED_STORED ? 0 : 3);
}

/* A wait status that is no status: ptrace or waitpid failed (errno says why). */
#define NO_STATUS (-1)

/* Describes a wait status for a failure message. */
static const char *describe(int status) {
    static char buf[100];
    if (status == NO_STATUS)
        snprintf(buf, sizeof buf, "ptrace or waitpid failed: %s", strerror(errno));
    else if (WIFEXITED(status))
        snprintf(buf, sizeof buf, "the child exited with status %d",
                 WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, sizeof buf, "the child was killed by signal %d",
                 WTERMSIG(status));
    else if (WIFSTOPPED(status))
        snprintf(buf, sizeof buf, "the child stopped with signal %d",
                 WSTOPSIG(status));
    else
        snprintf(buf, sizeof buf, "wait status 0x%x", status);
    return buf;
}

/* Whether the child of this wait status is gone (reaped). */
static int gone(int status) {
    return status != NO_STATUS && (WIFEXITED(status) || WIFSIGNALED(status));
}

static void kill_child(pid_t pid) {
    int status;
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) == pid && !WIFEXITED(status) &&
           !WIFSIGNALED(status))
        ;
}

/* Forks a traced child and waits for its initial SIGSTOP; -1 (reported) if
 * that fails. */
static pid_t spawn_child(const char *name) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fail(name, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
            _exit(100);
        raise(SIGSTOP);
        child_body();
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        fail(name, "waitpid: %s", strerror(errno));
        return -1;
    }
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
        fail(name, "the child did not stop with SIGSTOP: %s", describe(status));
        if (!gone(status))
            kill_child(pid);
        return -1;
    }
    return pid;
}

static int get_regs(pid_t pid, struct user_pt_regs *regs) {
    struct iovec iov = {regs, sizeof *regs};
    return (int)ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov);
}

static int get_hwdebug(pid_t pid, int note, struct user_hwdebug_state *st) {
    memset(st, 0, sizeof *st);
    struct iovec iov = {st, sizeof *st};
    return (int)ptrace(PTRACE_GETREGSET, pid, (void *)(long)note, &iov);
}

/* Sets slot 0 of NT_ARM_HW_BREAK or NT_ARM_HW_WATCH (only that slot). */
static int set_slot0(pid_t pid, int note, uint64_t addr, uint32_t ctrl) {
    struct user_hwdebug_state st;
    memset(&st, 0, sizeof st);
    st.dbg_regs[0].addr = addr;
    st.dbg_regs[0].ctrl = ctrl;
    struct iovec iov = {&st, offsetof(struct user_hwdebug_state, dbg_regs) +
                                 sizeof st.dbg_regs[0]};
    return (int)ptrace(PTRACE_SETREGSET, pid, (void *)(long)note, &iov);
}

/* DBGBCR/DBGWCR as ptrace takes them: E (bit 0), PAC (2:1; 0b10 = EL0), LSC
 * (4:3; watchpoints, 0b10 = store; 0 for breakpoints), BAS (12:5). */
#define CTRL_ENABLE 1u
#define CTRL_EL0 (2u << 1)
#define CTRL_STORE (2u << 3)
#define CTRL_BAS(b) ((uint32_t)(b) << 5)

static void check_info(void) {
    const char *name = current_check = "info";
    pid_t pid = spawn_child(name);
    if (pid < 0)
        return;
    struct user_hwdebug_state brk, wat;
    if (get_hwdebug(pid, NT_ARM_HW_BREAK, &brk) != 0) {
        fail(name, "PTRACE_GETREGSET NT_ARM_HW_BREAK: %s", strerror(errno));
    } else if (get_hwdebug(pid, NT_ARM_HW_WATCH, &wat) != 0) {
        fail(name, "PTRACE_GETREGSET NT_ARM_HW_WATCH: %s", strerror(errno));
    } else {
        unsigned nbrk = brk.dbg_info & 0xff, nwat = wat.dbg_info & 0xff;
        unsigned arch = (brk.dbg_info >> 8) & 0xff;
        printf("PTRACE-DEBUG INFO: %u breakpoint slots, %u watchpoint slots, "
               "debug architecture %u (dbg_info 0x%x / 0x%x)\n",
               nbrk, nwat, arch, brk.dbg_info, wat.dbg_info);
        if (nbrk < 1 || nwat < 1)
            fail(name, "%u breakpoint and %u watchpoint slots: need one of each",
                 nbrk, nwat);
        else if (arch < 6)
            fail(name, "debug architecture %u: ARMv8 debug is 6 or more", arch);
        else
            ok(name, "%u breakpoints, %u watchpoints, debug architecture %u",
               nbrk, nwat, arch);
    }
    kill_child(pid);
}

/* One PTRACE_SINGLESTEP; 0 and the new PC if the child stopped with SIGTRAP,
 * else -1 with *status set. */
static int step(pid_t pid, uint64_t *pc, int *si_code, int *status) {
    *status = NO_STATUS;
    if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) != 0)
        return -1;
    if (waitpid(pid, status, 0) != pid) {
        *status = NO_STATUS;
        return -1;
    }
    if (!WIFSTOPPED(*status) || WSTOPSIG(*status) != SIGTRAP)
        return -1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    *si_code = -1;
    if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si) == 0)
        *si_code = si.si_code;
    struct user_pt_regs regs;
    if (get_regs(pid, &regs) != 0) {
        *status = NO_STATUS;
        return -1;
    }
    *pc = regs.pc;
    return 0;
}



static void check_singlestep(void) {
    const char *name = current_check = "singlestep";
    pid_t pid = spawn_child(name);
    if (pid < 0)
        return;
    uint64_t start = (uint64_t)(uintptr_t)stepped_function;
    uint64_t end = (uint64_t)(uintptr_t)stepped_function_end;
    struct user_pt_regs regs;
    if (get_regs(pid, &regs) != 0) {
        fail(name, "PTRACE_GETREGSET NT_PRSTATUS: %s", strerror(errno));
        kill_child(pid);
        return;
    }
    uint64_t pc = regs.pc;
    int status, code;
    long to_entry = 0;
    while (pc != start) {
        if (step(pid, &pc, &code, &status) != 0) {
            fail(name, "step %ld towards stepped_function (0x%llx): %s%s",
                 to_entry + 1, (unsigned long long)start, describe(status),
                 gone(status) ? " (PTRACE_SINGLESTEP did not stop it)" : "");
            if (!gone(status))
                kill_child(pid);
            return;
        }
        if (++to_entry > MAX_STEPS_TO_ENTRY) {
            fail(name, "not at stepped_function (0x%llx) after %d steps; PC 0x%llx",
                 (unsigned long long)start, MAX_STEPS_TO_ENTRY,
                 (unsigned long long)pc);
            kill_child(pid);
            return;
        }
    }
    int steps = 0, wrong_code = 0, first_wrong = 0;
    while (pc >= start && pc < end) {
        if (step(pid, &pc, &code, &status) != 0) {
            fail(name, "step %d inside stepped_function: %s", steps + 1,
                 describe(status));
            if (!gone(status))
                kill_child(pid);
            return;
        }
        steps++;
        if (code != TRAP_TRACE && wrong_code++ == 0)
            first_wrong = code;
        if (steps > MAX_STEPS_INSIDE)
            break;
    }
    if (steps != STEP_COUNT)
        fail(name, "%d steps through stepped_function, expected %d (PC now 0x%llx)",
             steps, STEP_COUNT, (unsigned long long)pc);
    else if (wrong_code)
        fail(name, "%d of %d step stops had si_code other than TRAP_TRACE (%d), "
                   "the first %d", wrong_code, steps, TRAP_TRACE, first_wrong);
    else
        ok(name, "%d steps through stepped_function (expected %d), %ld steps to "
                 "reach it", steps, STEP_COUNT, to_entry);
    kill_child(pid);
}

/* Continues the child, which must now stop with SIGTRAP; fills *si and *pc.
 * On failure (reported) the child is gone. */
static int cont_to_trap(const char *name, pid_t pid, siginfo_t *si, uint64_t *pc) {
    int status;
    if (ptrace(PTRACE_CONT, pid, 0, 0) != 0) {
        fail(name, "PTRACE_CONT: %s", strerror(errno));
        kill_child(pid);
        return -1;
    }
    if (waitpid(pid, &status, 0) != pid) {
        fail(name, "waitpid: %s", strerror(errno));
        kill_child(pid);
        return -1;
    }
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
        fail(name, "expected a SIGTRAP stop, but %s", describe(status));
        if (!gone(status))
            kill_child(pid);
        return -1;
    }
    memset(si, 0, sizeof *si);
    if (ptrace(PTRACE_GETSIGINFO, pid, 0, si) != 0) {
        fail(name, "PTRACE_GETSIGINFO: %s", strerror(errno));
        kill_child(pid);
        return -1;
    }
    struct user_pt_regs regs;
    if (get_regs(pid, &regs) != 0) {
        fail(name, "PTRACE_GETREGSET NT_PRSTATUS: %s", strerror(errno));
        kill_child(pid);
        return -1;
    }
    *pc = regs.pc;
    return 0;
}

/* Removes slot 0 of `note`, continues the child and expects it to exit with
 * status 0 (it got past the debug event and its store took effect). The child
 * is gone afterwards; -1 if that failed (reported). */
static int finish_child(const char *name, pid_t pid, int note) {
    if (set_slot0(pid, note, 0, 0) != 0) {
        fail(name, "clearing the slot: %s", strerror(errno));
        kill_child(pid);
        return -1;
    }
    int status = NO_STATUS;
    if (ptrace(PTRACE_CONT, pid, 0, 0) != 0 || waitpid(pid, &status, 0) != pid) {
        fail(name, "continuing after the stop: %s", strerror(errno));
        kill_child(pid);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail(name, "after the slot was cleared, %s (expected exit status 0)",
             describe(status));
        if (!gone(status))
            kill_child(pid);
        return -1;
    }
    return 0;
}

static void check_watchpoint(void) {
    const char *name = current_check = "watchpoint";
    pid_t pid = spawn_child(name);
    if (pid < 0)
        return;
    uint64_t addr = (uint64_t)(uintptr_t)&watched;
    uint64_t store_pc = (uint64_t)(uintptr_t)watch_store;
    uint32_t ctrl = CTRL_ENABLE | CTRL_EL0 | CTRL_STORE | CTRL_BAS(0xff);
    if (set_slot0(pid, NT_ARM_HW_WATCH, addr, ctrl) != 0) {
        fail(name, "PTRACE_SETREGSET NT_ARM_HW_WATCH addr 0x%llx ctrl 0x%x: %s",
             (unsigned long long)addr, ctrl, strerror(errno));
        kill_child(pid);
        return;
    }
    siginfo_t si;
    uint64_t pc;
    if (cont_to_trap(name, pid, &si, &pc) != 0)
        return;
    errno = 0;
    long value = ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)addr, 0);
    int peek_errno = errno;
    uint64_t fault_addr = (uint64_t)(uintptr_t)si.si_addr;
    if (si.si_code != TRAP_HWBKPT)
        fail(name, "si_code %d, expected TRAP_HWBKPT (%d); si_addr 0x%llx, PC 0x%llx",
             si.si_code, TRAP_HWBKPT, (unsigned long long)fault_addr,
             (unsigned long long)pc);
    else if (fault_addr != addr)
        fail(name, "si_addr 0x%llx, expected the watched address 0x%llx",
             (unsigned long long)fault_addr, (unsigned long long)addr);
    else if (pc != store_pc)
        fail(name, "PC 0x%llx at the stop, expected the store at 0x%llx",
             (unsigned long long)pc, (unsigned long long)store_pc);
    else if (peek_errno != 0)
        fail(name, "PTRACE_PEEKDATA: %s", strerror(peek_errno));
    else if ((uint64_t)value != WATCHED_INITIAL)
        fail(name, "the watched value is 0x%llx at the stop: the store was "
                   "performed before the watchpoint exception",
             (unsigned long long)value);
    else {
        if (finish_child(name, pid, NT_ARM_HW_WATCH) == 0)
            ok(name, "SIGTRAP TRAP_HWBKPT at si_addr 0x%llx, PC 0x%llx before the store",
               (unsigned long long)fault_addr, (unsigned long long)pc);
        return;
    }
    kill_child(pid);
}

static void check_breakpoint(void) {
    const char *name = current_check = "breakpoint";
    pid_t pid = spawn_child(name);
    if (pid < 0)
        return;
    uint64_t addr = (uint64_t)(uintptr_t)bp_target;
    uint32_t ctrl = CTRL_ENABLE | CTRL_EL0 | CTRL_BAS(0xf);
    if (set_slot0(pid, NT_ARM_HW_BREAK, addr, ctrl) != 0) {
        fail(name, "PTRACE_SETREGSET NT_ARM_HW_BREAK addr 0x%llx ctrl 0x%x: %s",
             (unsigned long long)addr, ctrl, strerror(errno));
        kill_child(pid);
        return;
    }
    siginfo_t si;
    uint64_t pc;
    if (cont_to_trap(name, pid, &si, &pc) != 0)
        return;
    uint64_t fault_addr = (uint64_t)(uintptr_t)si.si_addr;
    if (si.si_code != TRAP_HWBKPT)
        fail(name, "si_code %d, expected TRAP_HWBKPT (%d); si_addr 0x%llx, PC 0x%llx",
             si.si_code, TRAP_HWBKPT, (unsigned long long)fault_addr,
             (unsigned long long)pc);
    else if (pc != addr)
        fail(name, "PC 0x%llx at the stop, expected bp_target 0x%llx",
             (unsigned long long)pc, (unsigned long long)addr);
    else if (fault_addr != addr)
        fail(name, "si_addr 0x%llx, expected bp_target 0x%llx",
             (unsigned long long)fault_addr, (unsigned long long)addr);
    else {
        if (finish_child(name, pid, NT_ARM_HW_BREAK) == 0)
            ok(name, "SIGTRAP TRAP_HWBKPT with PC = si_addr = bp_target 0x%llx",
               (unsigned long long)addr);
        return;
    }
    kill_child(pid);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(TIMEOUT_SECONDS);
    check_info();
    check_singlestep();
    check_watchpoint();
    check_breakpoint();
    printf("PTRACE-DEBUG SUMMARY: %d OK, %d FAIL\n", oks, fails);
    return fails == 0 && oks == 4 ? 0 : 1;
}
