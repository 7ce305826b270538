"""Peak resident memory of this process (Linux ``/proc``), resettable.

``resource.getrusage`` only gives the peak since the process started;
writing ``5`` to ``/proc/self/clear_refs`` resets the kernel's high-water
mark (``VmHWM``), so the peak of one step can be measured.
"""

import resource


def reset_peak_memory():
    """Start a new peak measurement; ``False`` where it cannot be reset."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _status_bytes(field):
    """``field`` of ``/proc/self/status`` in bytes, or ``None``."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_memory_bytes():
    """Peak resident set size since the last reset (or process start)."""
    peak = _status_bytes('VmHWM')
    if peak is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return peak


def current_memory_bytes():
    """Resident set size now (``VmRSS``); ``0`` where ``/proc`` is absent."""
    return _status_bytes('VmRSS') or 0
