"""The rule pack installed on first start; RevOps edit these like any other rule.

Messages are written for the sales rep reading the CRM task: what is wrong, in plain words, and
what they may say instead (the feature's guidance, or a safe fallback when product wrote none).
"""

from __future__ import annotations

from typing import Any

_LATE = {
    "any": [
        {"field": "feature.target_date", "op": "is_null"},
        {"field": "feature.target_date", "op": "after", "value": {"field": "deal.close_date"}},
        {
            "field": "feature.target_date",
            "op": "after",
            "value": {"field": "reference.promised_date"},
        },
    ]
}
_SOLD_OR_PROMISED = {
    "any": [
        {"field": "reference.is_commitment", "op": "eq", "value": True},
        {"field": "reference.source", "op": "eq", "value": "line_item"},
    ]
}
# The rep relayed the roadmap's own plan, hedged, with its date or a later one ("We told them
# SSO is planned for Q3 2027"): what product says may be said, not a promise. It blocked, and
# the message told the rep to say the very sentence they had written.
# An uncertain feature has no plan to relay: it stays a block (or a warning) however hedged.
_RELAYED_PLAN = {
    "all": [
        {"field": "feature.availability", "op": "eq", "value": "coming_soon"},
        {"field": "reference.hedged", "op": "eq", "value": True},
        {"field": "reference.source", "op": "eq", "value": "note"},
        {"field": "feature.target_date", "op": "not_null"},
        {
            "field": "reference.promised_date",
            "op": "gte",
            "value": {"field": "feature.target_date"},
        },
    ]
}
_SAY_INSTEAD = " What you can say instead: {feature.guidance}"
# The customer called it nice to have, and nobody promised or sold it: a wish, not a need.
_ONLY_A_WISH = {
    "all": [
        {"field": "reference.optional", "op": "eq", "value": True},
        {"field": "reference.is_commitment", "op": "eq", "value": False},
        {"field": "reference.source", "op": "eq", "value": "note"},
    ]
}

DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "id": "never-built",
        "name": "Feature that will never be built",
        "description": (
            "Any dependency on a feature product has decided not to build blocks the deal, "
            "unless the customer only called it nice to have (never-built-optional)."
        ),
        "severity": "block",
        "applies_to": "reference",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "never"},
                {"not": _ONLY_A_WISH},
            ]
        },
        "message": (
            "{feature.name} is not going to be built, but this deal depends on it "
            '({reference.source}: "{reference.evidence}"). Take it out of the deal and do not '
            "promise it." + _SAY_INSTEAD
        ),
    },
    {
        "id": "never-built-optional",
        "name": "Feature that will never be built, wanted as a nice-to-have",
        "description": (
            "The customer called a feature product has decided not to build nice to have, "
            "optional or a bonus, and nobody promised or sold it: warn the rep not to promise it."
        ),
        "severity": "warning",
        "applies_to": "reference",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "never"},
                _ONLY_A_WISH,
            ]
        },
        "message": (
            "{feature.name} is not going to be built. The customer called it nice to have "
            '({reference.source}: "{reference.evidence}"): do not promise it or suggest it is '
            "coming." + _SAY_INSTEAD
        ),
    },
    {
        "id": "unknown-promised",
        "name": "Promise of something not on the roadmap",
        "description": "A promise about a feature nobody has planned blocks the deal.",
        "severity": "block",
        "applies_to": "reference",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "unknown"},
                {"field": "reference.is_commitment", "op": "eq", "value": True},
            ]
        },
        "message": (
            'Something was promised that is not on the roadmap ({feature.name}): "'
            '{reference.evidence}". Nobody has agreed to build it, so the customer cannot be '
            "promised it." + _SAY_INSTEAD
        ),
    },
    {
        "id": "promised-past-target",
        "name": "Coming-soon or uncertain feature sold or promised too early",
        "description": (
            "A coming-soon or uncertain feature that is on a line item or promised, when its "
            "target date is after the close date or the promised date, or there is no target "
            "date, blocks the deal. A coming-soon feature's plan relayed in a note, hedged and "
            'with its target date or a later one ("SSO is planned for Q3 2027"), is not a '
            "promise: it is only mentioned."
        ),
        "severity": "block",
        "applies_to": "reference",
        "when": {
            "all": [
                {
                    "field": "feature.availability",
                    "op": "in",
                    "value": ["coming_soon", "uncertain"],
                },
                _SOLD_OR_PROMISED,
                _LATE,
                {"not": _RELAYED_PLAN},
            ]
        },
        "message": (
            "{feature.name} is {feature.availability} (target date: {feature.target_date}), "
            "but this deal sells or promises it (promised date: {reference.promised_date}; "
            'close date: {deal.close_date}; {reference.source}: "{reference.evidence}"). '
            "It may not be ready in time, so it cannot be promised." + _SAY_INSTEAD
        ),
    },
    {
        "id": "uncertain-mentioned",
        "name": "Uncertain feature mentioned",
        "description": "Talking about a feature that is not committed is a risk: warn the rep.",
        "severity": "warning",
        "applies_to": "reference",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "uncertain"},
                {"field": "reference.source", "op": "eq", "value": "note"},
                {"field": "reference.is_commitment", "op": "eq", "value": False},
            ]
        },
        "message": (
            "{feature.name} came up with the customer, but it is {feature.availability}: it "
            'may never ship. Do not promise it or a date ("{reference.evidence}").' + _SAY_INSTEAD
        ),
    },
    {
        # Without it, an uncertain feature promised or sold with a target date before the close
        # (and the promised) date fell between promised-past-target and uncertain-mentioned.
        "id": "uncertain-promised",
        "name": "Uncertain feature sold or promised",
        "description": (
            "An uncertain feature that is on a line item or promised warns the rep even when its "
            "target date is in time: it is not committed, so it may never ship."
        ),
        "severity": "warning",
        "applies_to": "reference",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "uncertain"},
                _SOLD_OR_PROMISED,
                {"not": _LATE},
            ]
        },
        "message": (
            # The rule matches only an uncertain feature with a target date: "{availability}"
            # rendered "not committed on the roadmap: it is on the roadmap ... but not committed".
            "{feature.name} is on the roadmap (target date: {feature.target_date}) but not "
            "committed, so it may never ship. This deal sells or promises it "
            '({reference.source}: "{reference.evidence}"). Do not promise it or a date.'
            + _SAY_INSTEAD
        ),
    },
    {
        "id": "coming-soon-mentioned",
        "name": "Coming-soon feature mentioned",
        "description": "For information: the feature is committed with a target date.",
        "severity": "info",
        "applies_to": "reference",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "coming_soon"},
                {"not": {"all": [_SOLD_OR_PROMISED, _LATE, {"not": _RELAYED_PLAN}]}},
            ]
        },
        "message": (
            # Without a target date, "do not promise a date earlier than the target" left the
            # rep free to promise any date.
            "{feature.name} is coming soon (target date: {feature.target_date}, confidence: "
            "{feature.confidence}). You may mention it; do not promise a date earlier than its "
            "target date, or any date while it has none." + _SAY_INSTEAD
        ),
    },
    {
        "id": "needed-before-target",
        "name": "Needed before it is due",
        "description": (
            "The customer needs a coming-soon or uncertain feature by a date before its target "
            "date, or it has no target date: warn the rep before they agree to the customer's "
            "date."
        ),
        "severity": "warning",
        "applies_to": "reference",
        "when": {
            "all": [
                {
                    "field": "feature.availability",
                    "op": "in",
                    "value": ["coming_soon", "uncertain"],
                },
                {"field": "reference.needed_by", "op": "not_null"},
                {
                    "any": [
                        {"field": "feature.target_date", "op": "is_null"},
                        {
                            "field": "feature.target_date",
                            "op": "after",
                            "value": {"field": "reference.needed_by"},
                        },
                    ]
                },
            ]
        },
        "message": (
            "The customer needs {feature.name} by {reference.needed_by}, but it is "
            "{feature.availability} (target date: {feature.target_date}), so it may not be ready "
            'by then ({reference.source}: "{reference.evidence}"). Do not agree to their date '
            "or offer another one; check with product first." + _SAY_INSTEAD
        ),
    },
    {
        "id": "beta-sold",
        "name": "Beta feature sold",
        "description": "A beta feature on a line item or promised: sell it as beta, no SLA.",
        "severity": "warning",
        "applies_to": "reference",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "beta"},
                _SOLD_OR_PROMISED,
            ]
        },
        "message": (
            "{feature.name} is in beta. It can only be sold as a beta: no SLA, uptime or "
            'support promises ({reference.source}: "{reference.evidence}").' + _SAY_INSTEAD
        ),
    },
    {
        "id": "unknown-sold",
        "name": "Product sold for a feature the roadmap does not know",
        "description": "A line item maps to a feature whose availability is unknown, or that "
        "is no longer on the roadmap (removed by its source or never added): ask before "
        "promising what it delivers.",
        "severity": "warning",
        "applies_to": "reference",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "unknown"},
                {"field": "reference.source", "op": "eq", "value": "line_item"},
            ]
        },
        "message": (
            '"{reference.evidence}" is mapped to {feature.name}, which the roadmap does not '
            "list with a known status. Ask product (or RevOps, who keep the product mappings) "
            "what it delivers and when before promising anything about it." + _SAY_INSTEAD
        ),
    },
    {
        "id": "custom-build",
        "name": "Custom-build language",
        "description": "Promising to build something for one customer needs product sign-off.",
        "severity": "warning",
        "applies_to": "reference",
        "when": {"field": "reference.custom_build", "op": "eq", "value": True},
        "message": (
            'This sounds like a promise to build something for this customer: "'
            '{reference.evidence}". Custom work has to be agreed with product before it is '
            "offered." + _SAY_INSTEAD
        ),
    },
]
