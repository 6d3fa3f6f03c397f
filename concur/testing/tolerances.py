"""Every bound the spec's timed claims allow, each with its rule and the reason for its number.

A claim never writes a bound as a literal: it names one of these, so that a rule read in one
test means the same in every other. (The hang bounds are in ``concur/timeouts.py``; the evidence
policy's own readings of the machine in ``concur/testing/evidence.py``.) Where a number came
from is told in docs/measurements.md.
"""

from __future__ import annotations

# ---- k units at once ---------------------------------------------------------------------------

# k units on k free cores reach at least this share of a k-fold speedup: releasing them at a
# barrier and collecting them costs a millisecond of a share's tens, and two hardware threads of
# a virtual machine share one core's caches.
PARALLEL_SHARE = 0.8
# Units taking turns at one core take at least this share of the time one after another would:
# taking turns only adds hand-offs, but a share of a few hundredths of a second varies by a
# tenth from one trial to the next (a core that has been idle speeds up over its first tenths
# of a second of work). Units running in parallel come near k-fold, far past 1 / TAKING_TURNS.
TAKING_TURNS = 0.8
# Units that take turns keep at most this many cores busy: a thread waiting for the GIL sleeps,
# and its CPU clock ticks only for the microseconds of each hand-off.
ONE_CORE_AT_MOST = 1.1
# A run cannot be faster than the cores it used: a speedup above this many times those cores
# means its baseline was slowed by something else. The margin is the CPU clocks' reading error.
CORES_EXPLAIN_SPEEDUP = 1.1
# A control run beside a "no faster" claim (the same work where it can run in parallel) shows
# that faster was possible once it gets this far of the way from one core to its cores:
# far above what units taking turns reach (1 / TAKING_TURNS), while cores that slow each other
# still get there.
FASTER_POSSIBLE = 0.5

# ---- a cluster ---------------------------------------------------------------------------------

# A task in a process pool crosses two pipes, to a worker process and back; on a Dask cluster it
# crosses TCP four times (client to scheduler to worker, and back to the client), and the
# scheduler keeps its books on it besides: so it costs at least this many times the pool's.
HOPS_RATIO = 2

# ---- CPU time ----------------------------------------------------------------------------------

# The kernel counts user and system time in hundredths of a second, each rounded on its own.
ROUNDING = 0.021
# Seconds each measuring-tool test spends in its block.
BLOCK = 0.2
# A block that sleeps is on the CPU only for the milliseconds of reading the counters, but the
# kernel charges a whole 10 ms tick to whatever runs when its clock ticks: one such tick beside
# the rounding is allowed. Far below the 0.8 core of a busy block.
IDLE_CORES = (ROUNDING + 0.01) / BLOCK
# A busy thread gets a whole core when one is free; the counters' 10 ms ticks make the reading
# wobble by a few hundredths either way.
ONE_CORE = (0.8, 1.15)
# Work that uses no core but the moments of its bookkeeping: a tenth of the time it spans, far
# from the whole core of work that computes.
HARDLY_ANY = 0.1

# CPU time read by the demos from their own counters: one thread keeps at most one core busy,
# and the counters' ticks add at most this much.
TICKS = 0.05

# ---- time --------------------------------------------------------------------------------------

# A wake-up on a quiet machine comes at most this much after the time it asked for, on average:
# the OS's timer slack and the scheduler.
WAKE_LATE = 0.002
# A timed wait may end a hair early: a spinner's gap is at least this share of its interval.
EARLY = 0.98
# Work sized for this machine lands within this factor of the time asked: the calibration times a
# small piece and scales it, and the machine's speed drifts between the two.
CALIBRATED = 2.0
