#!/bin/bash
# First index of N small files on one node, with a CPU profile of the daemon (read it with bench/probes/prof-top.mjs).
# Usage: N=20000 bench/probes/scale-prof.sh
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-20000}
B=/tmp/scale-prof; pkill -f "home $B" || true; rm -rf $B; mkdir -p $B/f $B/prof
node -e "const fs=require('fs'),c=require('crypto');for(let d=0;d<$N/100;d++){fs.mkdirSync('$B/f/d'+d);for(let i=0;i<100;i++)fs.writeFileSync('$B/f/d'+d+'/f'+i,c.randomBytes(1024+(i*31)%3072))}"
W="node $ROOT/bin/wizard.js --home $B/h"
$W init --name a --listen 127.0.0.1:0 --folder s=$B/f --json >/dev/null
sync; t0=$(date +%s%N)
node --cpu-prof --cpu-prof-dir=$B/prof $ROOT/bin/wizard.js --home $B/h start > $B/log 2>&1 & PID=$!
for i in $(seq 1 1200); do sleep 0.25; $W status --json 2>/dev/null | grep -q "\"files\":$N" && break; done
echo "indexed $N files in $(( ($(date +%s%N) - t0) / 1000000 )) ms (load $(cut -d' ' -f1 /proc/loadavg))"
kill -INT $PID; wait $PID 2>/dev/null || true
ls $B/prof
