"""Sums the server's "pop timing" debug lines (deskbridge::worker, at debug)
into percentiles of where each pop's time went: before its claim began (the
event's commit, the wake-up, waiting for a free pop worker), the claim, and
the pop step's run. Usage: python3 pop_timing.py <log>  (README.md, "Profiles").
"""
import re,sys
rows=[]
for line in open(sys.argv[1]):
    if 'pop timing' not in line: continue
    d=dict(re.findall(r'(\w+)=([-\d.e]+)',line.split('pop timing')[1]))
    rows.append({k:float(v) for k,v in d.items()})
def pct(v,p):
    v=sorted(v); return v[min(len(v)-1,int(len(v)*p))]
print(len(rows),'pops')
for k in ['total_ms','before_claim_ms','claim_ms','run_ms']:
    v=[r[k] for r in rows]
    print(f"{k:16} p50 {pct(v,.5):7.1f}  p90 {pct(v,.9):7.1f}  p99 {pct(v,.99):7.1f}  max {max(v):7.1f}")
slow=[r for r in rows if r['total_ms']>=pct([r['total_ms'] for r in rows],.95)]
print('slowest 5%:', {k: round(sum(r[k] for r in slow)/len(slow),1) for k in ['total_ms','before_claim_ms','claim_ms','run_ms']})
