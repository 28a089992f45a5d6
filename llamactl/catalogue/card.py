"""A model's card (GET /models/{model}) as the text `deepctl model info` prints.

Same lines, same order, same format as deepctl's `model_info` (deepinfra-api.md §4.3),
with one difference: where deepctl stops with an error because a field is missing or of
the wrong type, the line (or block) is left out and the rest is printed.
"""

from __future__ import annotations

from typing import Any

from llamactl.catalogue.pricing import cents

# (meta key, label) in deepctl's order; the README is a block of its own.
META_LINES = (("github_url", "github"), ("paper_url", "paper"), ("license_url", "license"))

# (field, heading, indent of the text) in deepctl's order: the two invocations are
# printed one space in, the documentation texts as they are.
BLOCKS = (
    ("curl_inv", "CURL invocation", " "),
    ("cmdline_inv", "deepctl invocation", " "),
    ("txt_docs", "Field description", ""),
    ("out_example", "output example", ""),
    ("out_docs", "output fields description", ""),
)


def _text(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def _unless_data_url(text: str) -> str:
    """deepctl prints `(binary)` instead of an inline data: URL."""
    return "(binary)" if text.startswith("data:") else text


def price_line(pricing: Any) -> str | None:
    """deepctl's price: `$X/sec` from `cents_per_sec` for time pricing, otherwise `$X/Ktoken`
    from `cents_per_output_token` (whatever the pricing type), four decimals."""
    if not isinstance(pricing, dict) or not isinstance(pricing.get("type"), str):
        return None
    key, factor, unit = (
        ("cents_per_sec", 0.01, "sec")
        if pricing["type"] == "time"
        else ("cents_per_output_token", 10.0, "Ktoken")
    )
    value = cents(pricing, key)
    return None if value is None else f"${value * factor:.4f}/{unit}"


def card_text(model: str, info: dict[str, Any]) -> str:
    """The card for `model` (the name as the user gave it, as deepctl prints it)."""
    lines = [f"model: {model}"]
    for key in ("type", "version"):
        if _text(info, key) is not None:
            lines.append(f"{key}: {info[key]}")
    lines.append(f"public: {'false' if info.get('public') is False else 'true'}")
    price = price_line(info.get("pricing"))
    if price:
        lines.append(f"pricing: {price}")
    if _text(info, "mask_token") is not None:
        lines.append(f"mask token: {info['mask_token']}")
    if _text(info, "description") is not None:
        lines.append(f"description: {info['description']}")
    meta = info.get("meta")
    if isinstance(meta, dict):
        for key, label in META_LINES:
            if _text(meta, key) is not None:
                lines.append(f"{label}: {meta[key]}")
        if _text(meta, "cover_img_url") is not None:
            lines.append(f"cover_image: {_unless_data_url(meta['cover_img_url'])}")
        if _text(meta, "readme") is not None:
            lines += ["README:", _unless_data_url(meta["readme"]), ""]
    for key, heading, indent in BLOCKS:
        if _text(info, key) is not None:
            lines += [f"{heading}:", "", indent + info[key], ""]
    return "\n".join(lines) + "\n"


def deprecation_notice(model: str, info: dict[str, Any]) -> str | None:
    """A line for stderr when the card says the model is deprecated (the card itself stays
    as deepctl prints it)."""
    replacement = _text(info, "replaced_by")
    if not info.get("deprecated") and not replacement:
        return None
    return f"{model} is deprecated" + (f"; requests go to {replacement}" if replacement else "")
