"""bench/peers/w1_dask.py — the dask.bag peer for W1 (word count).

Usage: python3 w1_dask.py INPUT OUT RUNS WORKERS [BLOCKSIZE]

Starts a local distributed cluster of WORKERS single-threaded worker
processes (start-up is not timed), then runs the word count RUNS times: each
run reads INPUT in blocks, splits lines on whitespace, counts with
Bag.frequencies(), and writes `word count` lines to OUT. Prints one line
`run SECONDS` per run. Debian's python3-dask and python3-distributed.
"""
import sys
import time


def main():
    if len(sys.argv) < 5:
        sys.stderr.write("usage: w1_dask.py INPUT OUT RUNS WORKERS [BLOCKSIZE]\n")
        return 2
    inp, out, runs, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    blocksize = sys.argv[5] if len(sys.argv) > 5 else "16MB"
    import dask.bag as db
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    client = Client(cluster)
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            bag = db.read_text(inp, blocksize=blocksize)
            counts = bag.map(str.split).flatten().frequencies().compute()
            with open(out, "w") as f:
                f.writelines("%s %d\n" % (w, c) for w, c in counts)
            print("run %.4f" % (time.perf_counter() - t0), flush=True)
    finally:
        client.close()
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
