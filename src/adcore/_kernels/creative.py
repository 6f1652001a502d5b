"""Creative variant choice: which cut of each eligible audio or video ad to play, by a
rule (the default cut, the shortest or the longest that fits), chosen from the
listener's focus (:func:`choose_variants`) or given (:func:`choose_variants_by_rule`,
for an agent that learns which rule works)."""

from ._jit import helper, kernel

FOCUS_UNKNOWN = 0
FOCUS_HIGH = 1
FOCUS_BACKGROUND = 2
FOCUS_NORMAL = 3

RULE_DEFAULT = 0
RULE_SHORTEST = 1
RULE_LONGEST = 2
RULES = 3
"""The rules: keep the default (the first variant that fits), the shortest that fits, the
longest that fits."""


@helper
def _apply_rule(
    rule,
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
    cand,
    n_cand,
):
    if rule != RULE_SHORTEST and rule != RULE_LONGEST:
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
                elif rule == RULE_SHORTEST and d < var_duration[best]:
                    best = v
                elif rule == RULE_LONGEST and d > var_duration[best]:
                    best = v
            if best >= 0:
                creative[k, i] = best


@kernel
def choose_variants_by_rule(
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
    rule,
    cand,
    n_cand,
):
    """For every eligible audio/video ad, the variant that fits the impression chosen by
    ``rule``: ``RULE_SHORTEST`` the shortest, ``RULE_LONGEST`` the longest, anything else
    keeps the default (the first fitting variant, as the inventory agent set it). Ties
    keep the earlier variant. Only the candidates ``cand[:n_cand]`` are looked at. An ad
    is held to the limits of its own format's media object: column ``ad_format[i]`` of
    ``imp_mimes``, ``imp_protocols``, ``imp_mindur`` and ``imp_maxdur`` (shape
    ``(max_imps, 3)``, as in :func:`adcore._kernels.filters.inventory_fit`)."""
    _apply_rule(
        rule, creative, reason, n_imp, ad_format, var_ptr, var_duration, var_mimes,
        var_protocols, imp_mimes, imp_protocols, imp_mindur, imp_maxdur, cand, n_cand,
    )  # fmt: skip


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
    """:func:`choose_variants_by_rule` with the rule of the listener's ``focus``: the
    shortest cut under high focus, the longest in the background, else the default."""
    rule = RULE_DEFAULT
    if focus == FOCUS_HIGH:
        rule = RULE_SHORTEST
    elif focus == FOCUS_BACKGROUND:
        rule = RULE_LONGEST
    _apply_rule(
        rule, creative, reason, n_imp, ad_format, var_ptr, var_duration, var_mimes,
        var_protocols, imp_mimes, imp_protocols, imp_mindur, imp_maxdur, cand, n_cand,
    )  # fmt: skip
