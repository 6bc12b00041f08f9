#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for testing sweeps (docs/cluster.md).
#
#   scripts/slurm-local.sh start    install slurm-wlm + munge (Debian/Ubuntu, as root), write the
#                                   configuration, start munged, slurmctld and slurmd
#   scripts/slurm-local.sh status   daemons and `sinfo`
#   scripts/slurm-local.sh stop     stop the daemons started here (by their PID files)
#
# No systemd: proctrack/linuxproc, task/none, no accounting. The node is this host with its real
# CPU count and memory. State, logs and PID files live under $SLURM_LOCAL_DIR (default
# /tmp/synmarket-slurm). `start` is idempotent: it does nothing when the cluster already answers.
set -euo pipefail

DIR="${SLURM_LOCAL_DIR:-/tmp/synmarket-slurm}"
HOST="$(hostname)"
CONF_DIR=/etc/slurm
MUNGE_PID=/run/munge/munged.pid

log() { echo "slurm-local: $*" >&2; }
die() { log "$*"; exit 1; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "installing slurm-wlm needs root"
    command -v apt-get >/dev/null || die "apt-get not found: install slurm-wlm and munge by hand"
    log "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq slurm-wlm munge >&2 || die "apt-get install slurm-wlm munge failed"
}

start_munge() {
    if [ -f "$MUNGE_PID" ] && kill -0 "$(cat "$MUNGE_PID")" 2>/dev/null; then
        return
    fi
    mkdir -p /run/munge /etc/munge /var/lib/munge /var/log/munge
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating a munge key"
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key --force >&2
        elif command -v create-munge-key >/dev/null; then
            create-munge-key -f >&2
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        fi
    fi
    chown -R munge:munge /run/munge /etc/munge /var/lib/munge /var/log/munge
    chmod 0700 /etc/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    chmod 0400 /etc/munge/munge.key
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_PID" >&2 || die "munged did not start"
}

write_config() {
    local cpus mem_mb
    cpus="$(nproc)"
    mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
    mkdir -p "$CONF_DIR" "$DIR/ctld" "$DIR/d" "$DIR/log"
    cat >"$CONF_DIR/slurm.conf" <<EOF
# Written by synmarket scripts/slurm-local.sh: a one-node test cluster without systemd.
ClusterName=synmarket-local
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$HOST CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    # Slurm ≥ 23.02 knows CgroupPlugin=disabled; older releases (Debian 12 ships 22.05) do not
    # and need no cgroup.conf with proctrack/linuxproc and task/none.
    local major
    major="$(slurmd -V 2>/dev/null | awk '{split($2, v, "."); print v[1]}')"
    if [ "${major:-0}" -ge 23 ]; then
        printf 'CgroupPlugin=disabled\n' >"$CONF_DIR/cgroup.conf"
    else
        rm -f "$CONF_DIR/cgroup.conf"
    fi
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
    if running "$DIR/slurmctld.pid" && running "$DIR/slurmd.pid" && sinfo -h >/dev/null 2>&1; then
        log "already running"
        return
    fi
    install_packages
    start_munge
    write_config
    running "$DIR/slurmctld.pid" || { log "starting slurmctld"; slurmctld -c >&2 || die "slurmctld did not start (see $DIR/log/slurmctld.log)"; }
    running "$DIR/slurmd.pid" || { log "starting slurmd"; slurmd >&2 || die "slurmd did not start (see $DIR/log/slurmd.log)"; }
    for _ in $(seq 1 60); do
        if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            log "cluster up: $(sinfo -h -o '%P %D %T %c' | head -1)"
            return
        fi
        scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
    die "the node did not become idle within 60 s: $(sinfo -h 2>&1 | head -1)"
}

stop() {
    local f
    for f in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$MUNGE_PID"; do
        if running "$f"; then
            log "stopping $(basename "$f" .pid) ($(cat "$f"))"
            kill "$(cat "$f")" || true
        fi
    done
}

status() {
    local f
    for f in "$MUNGE_PID" "$DIR/slurmctld.pid" "$DIR/slurmd.pid"; do
        if running "$f"; then echo "$(basename "$f" .pid): running ($(cat "$f"))"; else echo "$(basename "$f" .pid): stopped"; fi
    done
    sinfo 2>/dev/null || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
