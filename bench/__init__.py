"""maildispatch benchmarks: throughput, latency-bound throughput, cold start, memory and cost.

`python -m bench [--quick]` (or `make bench [QUICK=1]`) runs every benchmark against its
yardstick in the same run and writes bench/results/latest.{json,md} and throughput.png.
Every figure is also given as a ratio to a yardstick measured in the same run, because the
machines are shared and noisy; absolute figures are printed next to them.
"""
