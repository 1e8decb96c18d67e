#!/usr/bin/env python3
"""Times two commands in alternating pairs: A and B run in turn (the order swapped every
pair), and the median of the per-pair differences A - B is printed with its quartiles.
Pairing keeps the difference meaningful on a machine whose speed drifts.

Usage: scripts/paired-runs.py "COMMAND A" "COMMAND B" PAIRS"""
import subprocess, sys, time, statistics
a=sys.argv[1].split(); b=sys.argv[2].split(); n=int(sys.argv[3])
def t(c):
    s=time.perf_counter(); subprocess.run(c,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL); return time.perf_counter()-s
for _ in range(20): t(a); t(b)
ta=[];tb=[];d=[]
for i in range(n):
    if i%2: x=t(a); y=t(b)
    else: y=t(b); x=t(a)
    ta.append(x); tb.append(y); d.append(x-y)
q=lambda v: statistics.quantiles(v,n=4)
print("A median %.3f ms  B median %.3f ms  median(A-B) %.3f ms  IQR(A-B) %.3f..%.3f"%(statistics.median(ta)*1e3,statistics.median(tb)*1e3,statistics.median(d)*1e3,q(d)[0]*1e3,q(d)[2]*1e3))
