#!/bin/bash
# A no-change rescan of N small files on one node (the scan at a restart), with a CPU profile of the daemon
# (read it with bench/probes/prof-top.mjs). Usage: N=20000 bench/probes/rescan-prof.sh
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-20000}
B=/tmp/rescan-prof; pkill -f "home $B" || true; rm -rf $B; mkdir -p $B/f $B/prof
node -e "const fs=require('fs'),c=require('crypto');for(let d=0;d<$N/100;d++){fs.mkdirSync('$B/f/d'+d);for(let i=0;i<100;i++)fs.writeFileSync('$B/f/d'+d+'/f'+i,c.randomBytes(1024+(i*31)%3072))}"
W="node $ROOT/bin/wizard.js --home $B/h"
$W init --name a --listen 127.0.0.1:0 --folder s=$B/f --json >/dev/null
scans() { $W status --json 2>/dev/null | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{try{const j=JSON.parse(s);console.log(j.folders[0].fullScans.count+' '+j.folders[0].fullScans.lastMs)}catch{console.log('0 0')}})"; }
node $ROOT/bin/wizard.js --home $B/h start > $B/log0 2>&1 & PID=$!
for i in $(seq 1 2400); do sleep 0.25; [ "$(scans | cut -d' ' -f1)" -ge 1 ] && break; done
echo "first index: $(scans | cut -d' ' -f2) ms"
kill -INT $PID; wait $PID 2>/dev/null || true
node --cpu-prof --cpu-prof-dir=$B/prof $ROOT/bin/wizard.js --home $B/h start > $B/log 2>&1 & PID=$!
for i in $(seq 1 2400); do sleep 0.25; [ "$(scans | cut -d' ' -f1)" -ge 1 ] && break; done
echo "rescan with no change of $N files: $(scans | cut -d' ' -f2) ms (load $(cut -d' ' -f1 /proc/loadavg))"
kill -INT $PID; wait $PID 2>/dev/null || true
ls $B/prof
