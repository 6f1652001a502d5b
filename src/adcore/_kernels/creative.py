"""Creative variant choice: shorter cuts for a focused listener, longer for background."""

from ._jit import kernel

FOCUS_UNKNOWN = 0
FOCUS_HIGH = 1
FOCUS_BACKGROUND = 2
FOCUS_NORMAL = 3


@kernel
def choose_variants(
    creative,
    reason,
    n_imp,
    ad_format,
    var_ptr,
    var_duration,
    var_mimes,
    var_protocols,
    imp_mimes,
    imp_protocols,
    imp_mindur,
    imp_maxdur,
    focus,
    cand,
    n_cand,
):
    """Among an eligible audio/video ad's variants that fit the impression, pick the
    shortest under high focus and the longest in the background; otherwise keep the
    default (the first fitting variant). Ties keep the earlier variant. Only the
    candidates ``cand[:n_cand]`` are looked at. An ad is held to the limits of its own
    format's media object: column ``ad_format[i]`` of ``imp_mimes``, ``imp_protocols``,
    ``imp_mindur`` and ``imp_maxdur`` (shape ``(max_imps, 3)``, as in
    :func:`adcore._kernels.filters.inventory_fit`)."""
    if focus != FOCUS_HIGH and focus != FOCUS_BACKGROUND:
        return
    for k in range(n_imp):
        for j in range(n_cand):
            i = cand[j]
            fmt = ad_format[i]
            if reason[k, i] != 0 or fmt == 0:
                continue
            lo = imp_mindur[k, fmt]
            hi = imp_maxdur[k, fmt]
            mimes = imp_mimes[k, fmt]
            protocols = imp_protocols[k, fmt]
            best = -1
            for v in range(var_ptr[i], var_ptr[i + 1]):
                d = var_duration[v]
                if d < lo or d > hi:
                    continue
                if mimes != 0 and (var_mimes[v] & mimes) == 0:
                    continue
                vp = var_protocols[v]
                if protocols != 0 and vp != 0 and (vp & protocols) == 0:
                    continue
                if best < 0:
                    best = v
                elif focus == FOCUS_HIGH and d < var_duration[best]:
                    best = v
                elif focus == FOCUS_BACKGROUND and d > var_duration[best]:
                    best = v
            if best >= 0:
                creative[k, i] = best
