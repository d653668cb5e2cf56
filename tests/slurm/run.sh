#!/usr/bin/env bash
# Run the tiny config (.test/config/config.yaml) on a throw-away single-node SLURM cluster on this host:
# munged, slurmctld and slurmd with their own key, sockets, ports and state under WORK_DIR (no system
# service is touched; /etc/slurm/slurm.conf links to the generated file while it runs), then `snakemake
# --workflow-profile workflow/profiles/slurm --profile tests/slurm/profile`; checks that every job ran as a
# SLURM job and the results are complete, and stops the daemons. Needs root and the Debian packages
# slurmctld slurmd slurm-client munge (see tests/slurm/README.md).
#
#   tests/slurm/run.sh [WORK_DIR]      (default: a new temporary directory, kept for inspection)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
if [[ -n "${1:-}" ]]; then
    mkdir -p "$1" && WORK="$(cd "$1" && pwd)"
else
    WORK="$(mktemp -d /tmp/insta-rs-slurm.XXXXXX)"
fi
SNAKEMAKE="${SNAKEMAKE:-$REPO/.venv/bin/snakemake}"
STATE="$WORK/slurm"
NODE="$(hostname -s)"
log() { printf '[slurm-test %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { log "FAILED: $*"; exit 1; }

[[ "$(id -u)" == 0 ]] || fail "run as root (slurmd runs jobs as the submitting user and needs root to start)"
for tool in munged slurmctld slurmd sinfo sbatch squeue scontrol; do
    command -v "$tool" >/dev/null || fail "$tool not found: apt-get install -y slurmctld slurmd slurm-client munge"
done
[[ -x "$SNAKEMAKE" ]] || fail "$SNAKEMAKE not found: create the venv (pip install -e '.[test,slurm]')"
"$SNAKEMAKE" --help 2>/dev/null | grep -q -- "--slurm-status-command" \
    || fail "snakemake-executor-plugin-slurm missing: pip install -e '.[slurm]'"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
mkdir -p "$STATE"/{munge,ctld,spool,log} "$WORK/run"
chmod 700 "$STATE/munge"

# ---------------------------------------------------------------- munge: own key, socket and pid file
dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$STATE/munge/munge.key"
MUNGE_SOCKET="$STATE/munge/munge.socket"
munged --force --key-file="$STATE/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/seed"

stop_daemons() {
    local status=$?
    log "stopping the cluster (state and logs in $STATE)"
    scontrol shutdown >/dev/null 2>&1 || true
    for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" "$STATE/munge/munged.pid"; do
        if [[ -s "$pidfile" ]]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    if [[ -L /etc/slurm/slurm.conf && "$(readlink /etc/slurm/slurm.conf)" == "$STATE/slurm.conf" ]]; then
        rm -f /etc/slurm/slurm.conf
    fi
    exit "$status"
}
trap stop_daemons EXIT

# ---------------------------------------------------------------- slurm.conf for this host
CPUS="$(nproc)"
MEMORY_MB="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
export SLURM_CONF="$STATE/slurm.conf"
# Inside a job, the executor plugin's jobstep part removes every SLURM_* variable (SLURM_CONF too)
# before its `srun`, which then reads only the compiled-in /etc/slurm/slurm.conf: link ours there for
# the duration of the test, never replacing a real one.
SYSTEM_CONF=/etc/slurm/slurm.conf
if [[ -L "$SYSTEM_CONF" ]] \
    && { [[ ! -e "$SYSTEM_CONF" ]] || grep -qs "^ClusterName=insta-rs-test" "$SYSTEM_CONF"; }; then
    rm -f "$SYSTEM_CONF"  # left behind by an interrupted run of this script
elif [[ -e "$SYSTEM_CONF" ]]; then
    fail "$SYSTEM_CONF exists: this host has a SLURM of its own; run the test on a machine without one"
fi
mkdir -p /etc/slurm
ln -s "$SLURM_CONF" "$SYSTEM_CONF"
cat > "$SLURM_CONF" <<EOF
# Single-node test cluster made by tests/slurm/run.sh
ClusterName=insta-rs-test
SlurmctldHost=$NODE
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
# Memory is not a consumable here, and slurmd takes the node's size from this file: the profile's
# per-rule mem_mb (sized for GPU nodes) can then be submitted to this small node unchanged.
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# Finished jobs stay visible to squeue for 10 minutes: the executor plugin polls squeue, as there is
# no accounting database (sacct) in this cluster.
MinJobAge=600
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$NODE CPUs=$CPUS RealMemory=$(( MEMORY_MB > 64000 ? MEMORY_MB : 64000 )) State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
# The memory figure in NodeName is a ceiling for requests (config_overrides); the node has $MEMORY_MB MB.

slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
log "waiting for node $NODE to be idle ($CPUS CPUs, $MEMORY_MB MB)"
for _ in $(seq 60); do
    state="$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null || true)"
    [[ "$state" == idle ]] && break
    sleep 1
done
[[ "$state" == idle ]] || { tail -20 "$STATE"/log/*.log; fail "node state is '$state', not idle, after 60 s"; }
sinfo

# ---------------------------------------------------------------- the tiny workflow on the cluster
cd "$REPO"
log "snakemake on SLURM, working directory $WORK/run"
started=$SECONDS
"$SNAKEMAKE" --directory "$WORK/run" --configfile .test/config/config.yaml \
    --workflow-profile workflow/profiles/slurm --profile tests/slurm/profile
log "workflow finished in $(( SECONDS - started )) s"

# ---------------------------------------------------------------- checks
submitted="$(squeue -h --states=all -o '%i %j %T' | wc -l)"
failed="$(squeue -h --states=all -o '%T' | grep -vc COMPLETED || true)"
log "SLURM jobs: $submitted submitted, $failed not COMPLETED"
squeue --states=all -o '%.6i %.10T %.8M %.4C %R' | head -60
(( submitted > 0 )) || fail "no SLURM job was submitted"
(( failed == 0 )) || fail "$failed SLURM jobs did not complete"
"$SNAKEMAKE" --directory "$WORK/run" --configfile .test/config/config.yaml -n 2>&1 | tee "$WORK/dry-run.log" \
    | grep -q "Nothing to be done" || { tail -30 "$WORK/dry-run.log"; fail "the run left jobs to do"; }
ls "$WORK"/run/results/tiny/tables "$WORK"/run/results/tiny/figures
log "OK"
