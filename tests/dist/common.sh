# Sourced by kill_rank.sh and hang_rank.sh (needs $bin and $mpiexec): the loopback mpirun and the lookup of
# one rank's process.
mpi_flags=(--oversubscribe --allow-run-as-root --bind-to none --mca oob_tcp_if_include lo
           --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca btl_vader_single_copy_mechanism none)

mpirun() {  # N ARGS...: recurrent ARGS on N ranks
  local n=$1; shift
  "$mpiexec" "${mpi_flags[@]}" -np "$n" "$bin" "$@"
}

rank_pid() {  # PATTERN RANK: the pid of the process whose command line has PATTERN and that is rank RANK
  local pid
  for _ in $(seq 1 100); do  # up to 10 s for mpirun to start it
    for pid in $(pgrep -f -- "$1" 2>/dev/null); do
      if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then echo "$pid"; return 0; fi
    done
    sleep 0.1
  done
  return 1
}
