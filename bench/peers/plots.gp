# The peer benchmark's figures; run by bench/peers/run-all.sh:
#   gnuplot -e "dir='DATA_DIR'; out='OUT_DIR'" bench/peers/plots.gp
# DATA_DIR holds SYSTEM-MIX.dat ("clients req_per_s p50_ms p99_ms") and size-replayR.dat
# ("prefill commands_per_s").
systems = "billord-inprocess billord-http postgresql redis"
mixes = "new replay20-mismatch5"
mixtitle(m) = (m eq "new") ? "new tokens only" : "75% new, 20% replays, 5% mismatches"
set terminal pngcairo size 1400,560 font "sans,11"
set datafile separator whitespace
set key top left
set grid
set logscale x 2
set xtics (1, 2, 4, 8, 16, 32, 64, 128, 256)
set offsets graph 0.03, graph 0.03, 0, 0

set output out."/peers-throughput.png"
set multiplot layout 1,2 title "Durable requests per second by client count (closed loop, one request in flight per client)"
do for [m in mixes] {
  set title mixtitle(m)
  set xlabel "clients (connections / threads)"
  set ylabel "requests/s"
  set yrange [0:*]
  plot for [s in systems] dir."/".s."-".m.".dat" using 1:2 with linespoints lw 2 pt 7 title s
}
unset multiplot

set output out."/peers-latency.png"
set multiplot layout 1,2 title "Latency per request: p50 (solid) and p99 (dashed), ms, log scale"
set logscale y 10
set yrange [*:*]
unset key
set key bmargin horizontal font ",10" maxrows 2
do for [m in mixes] {
  set title mixtitle(m)
  set xlabel "clients"
  set ylabel "ms"
  plot for [i=1:words(systems)] dir."/".word(systems,i)."-".m.".dat" using 1:3 with linespoints lw 2 pt 7 lc i title word(systems,i)." p50", \
       for [i=1:words(systems)] dir."/".word(systems,i)."-".m.".dat" using 1:4 with linespoints lw 2 pt 6 dt 2 lc i title word(systems,i)." p99"
}
unset multiplot
unset logscale y
set key top right font ",11"
unset offsets

set terminal pngcairo size 900,560 font "sans,11"
set output out."/billord-store-size.png"
set title "billord in-process: durable commands/s against store size\n(billord-bench, 32 threads x pipeline 32)"
set logscale x 10
set xtics auto
set format x "10^{%L}"
set xlabel "tokens (with their orders) in the store before the run"
set ylabel "commands/s"
set yrange [0:*]
plot dir."/size-replay0.dat" using 1:2 with linespoints lw 2 pt 7 title "new tokens", \
     dir."/size-replay20.dat" using 1:2 with linespoints lw 2 pt 7 title "20% replays"
