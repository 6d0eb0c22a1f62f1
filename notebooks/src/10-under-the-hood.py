"""Chapter 10: under the hood (optional). Source of notebooks/10-under-the-hood.ipynb."""

# %% [markdown]
# # 10. Under the hood (optional)
#
# **Estimated time: 20 minutes, self-study.**
#
# The kit's stack is written to be read. This chapter opens four places where Prometheus' behaviour
# comes from — the virtual clock, a scrape, the TSDB head, and `rate()` — and shows them working.
# Read along in your editor: every module starts with a docstring saying *why* it is built that way.

# %%
import asyncio
import inspect

import stack.clock
import stack.promql.rangefuncs
import stack.scrape.loop
from stack.clock import VirtualClock
from stack.model import Labels
from stack.tsdb import Head

# %% [markdown]
# ## The virtual clock
#
# Every time-dependent part of the stack asks `clock.now()` and waits with `await clock.sleep(...)`.
# On the wall clock that is real time; on a `VirtualClock`, an asyncio event loop whose time only moves
# when nothing is ready to run — then it jumps straight to the next timer. The same code, deterministic
# and as fast as the CPU allows:

# %% tags=["nbval-ignore-output"]
# The stack's source, as it is today: not compared by nbval, so the chapter follows its evolution.
print(inspect.getdoc(stack.clock.VirtualClock))

# %%
clock = VirtualClock(start=1_767_225_600.0)  # 2026-01-01T00:00:00Z
ticks = []


async def scrape_every(seconds, times):
    for _ in range(times):
        await clock.sleep(seconds)
        ticks.append(clock.now() - 1_767_225_600.0)


async def two_loops():  # a 15 s loop and a 60 s loop, as a scraper and a rule group would run
    await asyncio.gather(scrape_every(15, 4), scrape_every(60, 1))


# %% [markdown]
# A Jupyter kernel already runs an asyncio loop in this thread, and a loop cannot run inside another, so
# notebooks drive virtual time from a helper thread (that is what `Simulation.run` does too):

# %%
from workshop.checks._common import outside_event_loop

outside_event_loop(clock.run, two_loops())
outside_event_loop(clock.close)
print("virtual seconds at each wake-up:", ticks)

# %% [markdown]
# Two minutes of waiting took microseconds. Scrape loops, rule groups, `for` durations and
# Alertmanager's `group_wait` all run this way in the notebooks.
#
# ## A scrape
#
# The scrape loop fetches `/metrics`, parses it, adds the target's `job` and `instance` labels (unless
# `honor_labels` keeps the exposed ones), and appends every sample with the scrape's timestamp. Series
# that disappear get a *staleness marker*, so graphs end instead of lingering for 5 minutes.

# %% tags=["nbval-ignore-output"]
# The stack's source, as it is today: not compared by nbval, so the chapter follows its evolution.
print(inspect.getsource(stack.scrape.loop.merge_target_labels))

# %% [markdown]
# ## The TSDB head
#
# Samples go into the *head*: in-memory series, found through a postings index (label pair → series
# IDs), with samples cut into compressed chunks; every 2 hours the head is persisted as a block.

# %%
head = Head()
app = head.appender()
for minute in range(5):
    app.append(Labels({"__name__": "demo_total", "job": "a"}), minute * 60_000, float(minute * 10))
app.commit()
print(head.num_series, "series; values of its job label:", head.label_values("job"))

# %% [markdown]
# ## `rate()`
#
# `rate` and `increase` are where most PromQL surprises come from. They take the first and last sample
# in the window, correct counter resets, and *extrapolate* towards the window's edges (unless the data
# stops well before an edge; and never below zero for counters). That is why `increase()` often
# returns more than "last minus first", and non-integers for integer counters:

# %% tags=["nbval-ignore-output"]
# The stack's source, as it is today: not compared by nbval, so the chapter follows its evolution.
print(inspect.getsource(stack.promql.rangefuncs._extrapolate))  # vectorised: all windows at once

# %%
from stack.promql.engine import Engine

engine = Engine(head)
print("samples in the window:", engine.instant("demo_total[2m]", 240_000))
print("increase:", engine.instant("increase(demo_total[2m])", 240_000))

# %% [markdown]
# The window `[2m]` at 240 s is *left-open* in Prometheus 3: (120 s, 240 s]. Only the samples at 180 s and
# 240 s are in it, 10 apart. The gap from the first sample to the window's start (60 s) is within 1.1
# average sample intervals, so the increase of 10 seen over 60 s is extrapolated to the whole 120 s
# window: **20**. Change the samples and predict the result before running the cells again.
#
# ## Where next
#
# * `stack/promql/` — lexer, parser (with upstream's error messages and positions), evaluator;
#   `tests/promql/test_corpus.py` runs upstream's PromQL test corpus against it.
# * `stack/rules/alerting.py` — the pending/firing state machine of chapter 6.
# * `stack/alertmanager/dispatch.py` — aggregation groups and their timers from chapter 7.
