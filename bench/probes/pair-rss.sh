#!/bin/bash
# Two nodes, 5,000 small files synced A -> B: each daemon's memory by kind afterwards (status .process).
# Usage: bench/probes/pair-rss.sh (SETTLE=seconds to wait after the sync; env such as MALLOC_ARENA_MAX passes to the daemons).
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=/tmp/pair-rss; pkill -f "home $B" || true; rm -rf $B; mkdir -p $B/a $B/b
node -e 'const fs=require("fs");for(let d=0;d<50;d++){fs.mkdirSync(`/tmp/pair-rss/a/d${d}`);for(let i=0;i<100;i++)fs.writeFileSync(`/tmp/pair-rss/a/d${d}/f${i}`,require("crypto").randomBytes(1000+i*600))}'
WA="node $ROOT/bin/wizard.js --home $B/ha"; WB="node $ROOT/bin/wizard.js --home $B/hb"
$WA init --name a --listen 127.0.0.1:17901 --folder s=$B/a --json >/dev/null
$WB init --name b --listen 127.0.0.1:17902 --folder s=$B/b --ca $B/ha/certs --json >/dev/null
$WA start > $B/la 2>&1 & PA=$!
$WB start > $B/lb 2>&1 & PB=$!
sleep 2; $WB pair 127.0.0.1:17901 >/dev/null
t0=$(date +%s)
for i in $(seq 1 600); do sleep 1; $WB status --json 2>/dev/null | grep -q '"files":5000' && break; done
echo "synced after $(( $(date +%s) - t0 )) s"
sleep ${SETTLE:-20}
for h in ha hb; do node $ROOT/bin/wizard.js --home $B/$h status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s).process;console.log(Object.entries(p).map(([k,v])=>k+"="+(k.endsWith("Bytes")?(v/1048576).toFixed(1)+"M":v)).join(" "))})'; done
kill $PA $PB; wait 2>/dev/null || true
