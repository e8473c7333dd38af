"""SimPy's M/M/1 at rho = 0.8 (mean service 1 ms), the textbook way: a source process and a
Resource. For comparison with callflow's benchmark; counts SimPy's own events (every step of
its event loop) and jobs. Prints the median of several runs; asserts nothing."""

import random
import statistics
import time

import simpy

JOBS = 200_000
RUNS = 5
LAMBDA, MU = 0.8, 1.0  # per ms


def run(jobs, seed=2026):
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)

    def customer():
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(MU))

    def source():
        for _ in range(jobs):
            env.process(customer())
            yield env.timeout(rng.expovariate(LAMBDA))

    env.process(source())
    steps = 0
    while True:
        try:
            env.step()
        except simpy.core.EmptySchedule:
            break
        steps += 1
    return steps


run(JOBS // 10)
times, steps = [], 0
for _ in range(RUNS):
    start = time.perf_counter()
    steps = run(JOBS)
    times.append(time.perf_counter() - start)
median = statistics.median(times)
print(f"simpy:  M/M/1 at rho = 0.8, {JOBS} jobs, median of {RUNS} runs: {median:.3f} s")
print(f"simpy:  {steps / median / 1e6:.2f} M events/s, {JOBS / median / 1e6:.3f} M jobs/s")
