"""Panels on dask: the log-likelihood of N = 10,000 series in memory, and on a
``dask.distributed`` LocalCluster of 1 and 2 worker processes.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_panel.py [--quick] [--repeat 3]

Model: a random stable model with n = 4 states and p = 2 outputs (no inputs); N series of
T = 200 samples from its innovation form. Two cases:
  a. complete data: in memory all series share one covariance recursion (and its
     steady-state switch), so a series costs only its state update;
  b. 5% of the entries missing at random: each series runs its own covariance recursion
     (the heavy case, ~4x the work of a).

Timings (best of ``--repeat`` rounds; each round times the three in turn, so that a
change of machine load hits all of them):
  * in memory: ``realize.loglik(sys, y)`` on the NumPy array, one thread: the
    single-machine call, and the oracle (the panels' log-likelihoods are compared with it);
  * cluster: ``realize.loglik(sys, y)`` with y a dask array of 8 chunks of series,
    simulated on the workers and persisted there, spread evenly (the data never pass
    through the client), on LocalClusters of 1 and 2 worker processes, one thread each.
Also measured: each worker's busy time (task stream) and CPU time (``process_time``) a
call, which show how the work splits whatever the load; on the 2-worker cluster a no-op
task over the same chunks (the scheduler's round trip and the gathering of N numbers) and
shipping the panel from the client (``from_array(...).persist``: pickling and sending it)
for data that are not on the cluster yet. From the 1-worker CPU time and the round trip
the script predicts the time on W workers, ``round trip + N * (CPU a series) / W``
(chunks >= W, each worker on a free core).

The machine may be shared: the load average is printed; when the cores are busy, two
workers' chunks run slower than one worker's and the wall-clock speedup falls below the
split of the work that the CPU times show.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
import warnings

import numpy as np
from bench_kalman import best  # the benchmarks' best-of-n timer

import realize
from realize.testing import random_statespace

T, N_STATES, P = 200, 4, 2


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def simulate_chunk(seed, A, K, C, L, size, missing):
    """``size`` series of the innovation form x+ = A x + K e, y = C x + e, e ~ N(0, L L')."""
    rng = np.random.default_rng(int(seed[0]))
    e = rng.standard_normal((size, T, P)) @ L.T
    x = np.zeros((size, A.shape[0]))
    y = np.empty((size, T, P))
    for t in range(T):
        y[:, t] = x @ C.T + e[:, t]
        x = x @ A.T + e[:, t] @ K.T
    if missing:
        y[rng.uniform(size=y.shape) < 0.05] = np.nan
    return y


def panel_on_cluster(sys, N, chunk, missing):
    """The dask panel simulated chunk by chunk where it is computed (seed = chunk index)."""
    import dask.array as da

    inn = sys.innovation_form()
    A, K, C = (np.asarray(M) for M in (inn.A, inn.K, inn.C))
    L = np.linalg.cholesky(np.asarray(inn.Lambda))
    seeds = da.arange(N // chunk, chunks=1)
    return seeds.map_blocks(
        simulate_chunk,
        A,
        K,
        C,
        L,
        chunk,
        missing,
        new_axis=[1, 2],
        chunks=((chunk,) * (N // chunk), (T,), (P,)),
        dtype=float,
    )


def chunk_seconds(stream, workers) -> list[float]:
    """Compute time of each worker on the panel's chunks in a task stream."""
    out = dict.fromkeys(workers, 0.0)
    for task in stream:
        if "_chunk" in str(task["key"]):
            spans = [s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute"]
            out[task["worker"]] += sum(spans)
    return sorted(out.values())


def run_case(sys, N, chunk, missing, repeat):
    """In memory, 1 and 2 worker processes timed in turns (a change of load hits all three)."""
    from dask.distributed import Client, LocalCluster, get_task_stream, wait

    name = "b. 5% missing" if missing else "a. complete  "
    clusters, clients, panels = [], [], []
    for workers in (1, 2):
        c = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        clusters.append(c)
        clients.append(Client(c, set_as_default=False))
        with clients[-1].as_current():
            panels.append(panel_on_cluster(sys, N, chunk, missing).persist())
            wait(panels[-1])
            clients[-1].rebalance()  # as many chunks on every worker: tasks follow their data
            realize.loglik(sys, panels[-1])  # warm the workers (imports, compiled kernels)
    with clients[0].as_current():
        y_mem = panels[0].compute()
    ll_mem = realize.loglik(sys, y_mem)
    t, cpu_mem = {"mem": np.inf, 1: np.inf, 2: np.inf}, np.inf
    busy, cpu, err, loads = {1: [], 2: []}, {1: [], 2: []}, 0.0, []
    for _ in range(repeat):
        loads.append(os.getloadavg()[0])
        t0, c0 = time.perf_counter(), time.process_time()
        realize.loglik(sys, y_mem)
        t["mem"] = min(t["mem"], time.perf_counter() - t0)
        cpu_mem = min(cpu_mem, time.process_time() - c0)
        for w, client, y in zip((1, 2), clients, panels):
            workers = list(client.scheduler_info()["workers"])
            cpu0 = client.run(time.process_time)
            with client.as_current(), get_task_stream(client) as stream:
                t0 = time.perf_counter()
                ll = realize.loglik(sys, y)
                t[w] = min(t[w], time.perf_counter() - t0)
            cpu1 = client.run(time.process_time)
            busy[w].append(chunk_seconds(stream.data, workers))
            cpu[w].append(sorted(cpu1[k] - cpu0[k] for k in cpu0))
            err = max(err, float(np.max(np.abs(ll - ll_mem) / np.abs(ll_mem))))
    with clients[1].as_current():
        noop = panels[1].map_blocks(lambda b: b[:, 0, 0], drop_axis=[1, 2])
        t_noop, _ = best(noop.compute, repeat)
        ship = lambda: wait(da_from_array(y_mem, chunk).persist())
        with warnings.catch_warnings():  # "Sending large graph": what is measured here
            warnings.simplefilter("ignore", UserWarning)
            t_ship, _ = best(ship, max(1, repeat - 1))
    for client, cluster in zip(clients, clusters):
        client.close()
        cluster.close()

    busy = {w: np.median(v, axis=0) for w, v in busy.items()}
    cpu = {w: np.median(v, axis=0) for w, v in cpu.items()}
    print(f"{name}  in memory, 1 thread    {t['mem']:8.3f} s   (CPU {cpu_mem:.3f} s)")
    for w in (1, 2):
        print(
            f"{name}  {w} worker process{'es' if w > 1 else '  '}   {t[w]:8.3f} s   "
            f"vs in memory {t['mem'] / t[w]:4.2f}x"
        )
    print(
        f"   load average {min(loads):.1f}-{max(loads):.1f}; max rel. difference of the "
        f"log-likelihoods from the in-memory ones: {err:.1e}"
    )
    print(
        f"   1 -> 2 workers: {t[1] / t[2]:.2f}x wall clock; median busy time of each worker "
        f"a call: {fmt(busy[1])} -> {fmt(busy[2])}; CPU time: {fmt(cpu[1])} -> {fmt(cpu[2])}, "
        f"so {cpu[1][0] / cpu[2][-1]:.2f}x on two free cores"
    )
    per_series = cpu[1][0] / N  # CPU seconds a series: its cost on a free core
    print(
        f"   a chunk of {chunk} series: {per_series * chunk * 1e3:.1f} ms CPU "
        f"({per_series * 1e6:.1f} us a series); no-op round trip over {N // chunk} chunks: "
        f"{t_noop * 1e3:.1f} ms; shipping the panel from the client "
        f"({y_mem.nbytes / 1e6:.0f} MB): {t_ship:.2f} s ({y_mem.nbytes / 1e6 / t_ship:.0f} MB/s; "
        f"pickling one chunk {pickle_seconds(y_mem[:chunk]) * 1e3:.1f} ms)"
    )
    for W in (4, 16, 64):
        print(
            f"   predicted on {W:>2} workers on free cores (data on the cluster, >= {W} chunks): "
            f"{(t_noop + N * per_series / W) * 1e3:7.1f} ms"
        )


def fmt(seconds) -> str:
    return "/".join(f"{s:.3f}" for s in seconds) + " s"


def da_from_array(y, chunk):
    import dask.array as da

    return da.from_array(y, chunks=(chunk, -1, -1))


def pickle_seconds(a) -> float:
    t, _ = best(lambda: pickle.dumps(a, protocol=5), 3)
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 2,000 series")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    N = 2000 if args.quick else 10_000
    chunk = N // 8
    sys = random_statespace(np.random.default_rng(0), N_STATES, 0, P, noise=True)
    print(
        f"realize.loglik of N = {N} series, n = {N_STATES}, p = {P}, T = {T}; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
        f"{os.cpu_count()} CPUs, {load()} at start"
    )
    for missing in (False, True):
        run_case(sys, N, chunk, missing, args.repeat)
    print(
        "A larger cluster: the work splits by series with no communication but the "
        "N log-likelihoods, so the time is the round trip plus N x the per-series cost / W "
        "while chunks >= W; data that start on the client pay the shipping time once "
        "(persist them: EM re-reads them every iteration)."
    )
    print(f"{load()} at the end")


if __name__ == "__main__":
    main()
