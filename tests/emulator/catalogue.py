"""The emulator's model catalogue, account and deployment data (deepinfra-api.md §4).

Plain data first; the few functions at the bottom only look things up and shape them into
the documented response objects (`ModelOut`, `ModelInfoOut`, `ModelVersionOut`) and compute
what a request costs under each pricing type.

Values are realistic but made up (the doc marks them [I]); the shapes follow the SPEC.
The catalogue deliberately holds awkward entries a client must survive: every pricing type,
a deprecated model with `replaced_by`, a model without `pricing`, and a private model.
"""

from __future__ import annotations

import copy

from . import cards

LLAMA_70B = "meta-llama/Llama-2-70b-chat-hf"
LLAMA_7B = "meta-llama/Llama-2-7b-chat-hf"
MISTRAL_7B = "mistralai/Mistral-7B-Instruct-v0.1"
BGE_LARGE = "BAAI/bge-large-en-v1.5"
WHISPER_SMALL = "openai/whisper-small"
STABLE_DIFFUSION = "stabilityai/stable-diffusion-2-1"
DEDICATED_13B = "acme-corp/Llama-2-13b-dedicated"
KOKORO = "hexgrad/Kokoro-82M"
XTTS = "coqui/XTTS-v2"
FLUX_SCHNELL = "black-forest-labs/FLUX-1-schnell"
LLAMA_13B_DEPRECATED = "meta-llama/Llama-2-13b-chat-hf"
NO_PRICING = "emu-test/broken-pricing-7b"
PRIVATE_MODEL = "emu-user/llama-2-7b-support-bot"


def _model(
    name: str,
    task: str,
    description: str,
    pricing: dict | None,
    max_tokens: int | None,
    *,
    tags: tuple[str, ...] = (),
    cover: str = "",
    quantization: str | None = None,
    mmlu: float | None = None,
    replaced_by: str | None = None,
    deprecated: int | None = None,
    private: int = 0,
    is_partner: bool = False,
) -> dict:
    """A `ModelOut` object (SPEC) in its field order; no `pricing` key when `pricing` is None."""
    model = {
        "model_name": name,
        "type": task,
        "reported_type": task,
        "description": description,
        "cover_img_url": cover,
        "tags": list(tags),
        "pricing": pricing,
        "max_tokens": max_tokens,
        "replaced_by": replaced_by,
        "deprecated": deprecated,
        "quantization": quantization,
        "mmlu": mmlu,
        "expected": None,
        "private": private,
        "is_partner": is_partner,
    }
    if pricing is None:
        del model["pricing"]
    return model


def _tokens(cents_in: float, cents_out: float, **display) -> dict:
    return {
        "type": "tokens",
        "cents_per_input_token": cents_in,
        "cents_per_output_token": cents_out,
        **display,
    }


_LLAMA_2 = "LLaMa 2 is a collections of LLMs trained by Meta. This is the {} chat optimized version."

# The ModelOut objects /models/list returns.  `private: 1` marks the model that only
# /models/private/list serves.
MODELS: list[dict] = [
    _model(
        LLAMA_70B,
        "text-generation",
        _LLAMA_2.format("70B"),
        _tokens(0.000064, 0.00008, short="$0.64/$0.80 in/out Mtoken"),
        4096,
        tags=("llama-2", "chat"),
        cover="https://shared.deepinfra.com/models/meta-llama/Llama-2-70b-chat-hf/cover_image.jpg",
        quantization="fp16",
        mmlu=0.689,
    ),
    _model(
        LLAMA_7B,
        "text-generation",
        _LLAMA_2.format("7B"),
        _tokens(0.000007, 0.000009),
        4096,
        tags=("llama-2", "chat"),
        quantization="fp16",
        mmlu=0.458,
    ),
    _model(
        MISTRAL_7B,
        "text-generation",
        "The Mistral-7B-Instruct-v0.1 Large Language Model (LLM) is a instruct fine-tuned version "
        "of the Mistral-7B-v0.1 generative text model.",
        _tokens(0.0000055, 0.0000055),
        32768,
        tags=("chat",),
        quantization="bfloat16",
    ),
    _model(
        BGE_LARGE,
        "embeddings",
        "BGE embedding model for English text.",
        {"type": "input_tokens", "cents_per_input_token": 0.000001},
        512,
    ),
    _model(
        WHISPER_SMALL,
        "automatic-speech-recognition",
        "Whisper is a general-purpose speech recognition model.",
        {"type": "input_length", "cents_per_input_sec": 0.0005, "short": "$0.0003 / minute"},
        None,
    ),
    _model(
        STABLE_DIFFUSION,
        "text-to-image",
        "Stable Diffusion is a latent text-to-image diffusion model.",
        {"type": "time", "cents_per_sec": 0.05, "short": "$0.0005 / second"},
        None,
    ),
    _model(
        DEDICATED_13B,
        "text-generation",
        "A dedicated Llama 2 13B deployment billed by uptime.",
        {"type": "uptime", "cents_per_sec": 0.0333, "short": "$1.20 / hour"},
        4096,
        tags=("dedicated",),
        quantization="fp16",
    ),
    _model(
        KOKORO,
        "text-to-speech",
        "Kokoro is a small open-weight text-to-speech model.",
        {"type": "output_length", "cents_per_output_sec": 0.0008},
        None,
    ),
    _model(
        XTTS,
        "text-to-speech",
        "XTTS is a voice generation model billed per input character.",
        {"type": "input_character_length", "cents_per_input_char": 0.00008},
        None,
        is_partner=True,
    ),
    _model(
        FLUX_SCHNELL,
        "text-to-image",
        "FLUX.1 [schnell] generates images from text, billed per image unit.",
        {"type": "image_units", "cents_per_image_unit": 0.05, "short": "$0.0005 / image unit"},
        None,
        is_partner=True,
    ),
    _model(
        LLAMA_13B_DEPRECATED,
        "text-generation",
        "LLaMa 2 13B chat. Deprecated: requests are forwarded to Llama-2-70b-chat-hf.",
        _tokens(0.000022, 0.000022),
        4096,
        tags=("llama-2", "chat"),
        quantization="fp16",
        mmlu=0.548,
        deprecated=1718236800,
        replaced_by=LLAMA_70B,
    ),
    _model(NO_PRICING, "text-generation", "A catalogue entry without pricing.", None, 2048),
    _model(
        PRIVATE_MODEL,
        "text-generation",
        "A private fine-tune of Llama 2 7B owned by the emulator's user.",
        _tokens(0.000007, 0.000009),
        4096,
        tags=("private",),
        quantization="fp16",
        private=1,
    ),
]

# ModelVersionOut data: model, version, uploaded_at; newest first per model, and the first
# one is what /models/{m} reports.
_VERSION_TABLE = """
meta-llama/Llama-2-70b-chat-hf      d2ca389ff883454850a801a3f54ae57ea18d05320e51e9f3f799bb997ef9a270  2023-11-02T10:14:51.118203+00:00
meta-llama/Llama-2-70b-chat-hf      b3582270d33e5c1c0e9f2ce3acbe1494e4f27a8d0468a079121d9b66572fd018  2023-08-21T17:02:33.503911+00:00
meta-llama/Llama-2-70b-chat-hf      adb8e898caa3b7a43c44fe473701dd7f6ec2692ed5ba14b7920744e14e2a1c1b  2023-07-19T08:40:12.007422+00:00
meta-llama/Llama-2-7b-chat-hf       dc9d3c87f36f60f05dc647d97318d704c06b29d33587ebf8c5415ee86e0609f6  2023-10-05T12:30:00.000000+00:00
meta-llama/Llama-2-7b-chat-hf       df8a515453d6eb2bb955d3adfd59a1b4888773439bfcaee84ea40a0a67051943  2023-07-19T08:41:02.551830+00:00
mistralai/Mistral-7B-Instruct-v0.1  f41eeefc9d5a8e34991bce40951eaf52aa31ee1fef74c7b35d50eb958cd69603  2023-09-28T15:11:46.300112+00:00
BAAI/bge-large-en-v1.5              3ee5ef40ada7f034ddc55f189d0c603487e118bd065b83900479986c32782a72  2023-09-15T09:00:00.000000+00:00
openai/whisper-small                33c4be9a7100e9701664457be214b77094dde4f878800405ca2c04314cf84834  2023-03-02T11:20:19.000000+00:00
openai/whisper-small                b05bdaaaed5df063c2c7e3a66741f3dacd2013883afd6d4f0f500188b01edac8  2023-01-19T21:52:03.626241+00:00
stabilityai/stable-diffusion-2-1    5df111458ed05dcf47f44a82713f1b4bba84c8c845982b58f9b9a14fca8d0183  2023-02-10T18:00:00.000000+00:00
acme-corp/Llama-2-13b-dedicated     59f3a48066a29d6a1bb862fa1d5ac5e384626fa67267d953aed22939ee85ea0e  2024-01-08T07:45:00.000000+00:00
hexgrad/Kokoro-82M                  872d00c521b46c36de65407291113e62ea7c53cd7c1182c85e8a819b97a8c71a  2025-01-14T13:00:00.000000+00:00
coqui/XTTS-v2                       ae224fc89df2ead79df266fc3d072d67c5cc4956add875ca98a8aca612ed998b  2024-03-01T10:00:00.000000+00:00
black-forest-labs/FLUX-1-schnell    981435370632d221a3cfd961d155687857a58cbc3d61edd8d1375903f0eb5cc5  2024-08-02T16:30:00.000000+00:00
meta-llama/Llama-2-13b-chat-hf      b08027b125e4d13d11959163d9b339fcec137a4e430ace99cf042f414816dc1d  2023-07-19T08:40:55.000000+00:00
emu-test/broken-pricing-7b          86177e4fbcfb74c7b52fc67e423741d950bde859461b27a3df19c84b00d13322  2024-02-02T02:02:02.000000+00:00
emu-user/llama-2-7b-support-bot     0ee67d0f811f87bea691c02c1b3cef96de8578ab27e03c8c5236a0e90b024941  2024-05-20T09:15:00.000000+00:00
"""


def _versions(table: str) -> dict[str, list[dict]]:
    versions: dict[str, list[dict]] = {}
    for name, version, uploaded_at in (line.split() for line in table.strip().splitlines()):
        versions.setdefault(name, []).append({"version": version, "uploaded_at": uploaded_at})
    return versions


VERSIONS: dict[str, list[dict]] = _versions(_VERSION_TABLE)

# ModelInfoOut fields beyond ModelOut, for the models with a full card (cards.py).
CARDS: dict[str, dict] = {LLAMA_70B: cards.LLAMA_70B_CARD}

# `deploy_id` → model name, for POST /v1/inference/deploy/{deploy_id}.
DEPLOYMENTS: dict[str, str] = {
    "DpLlama70b": LLAMA_70B,
    "DpLlama7b": LLAMA_7B,
    "DpM4BkrjEspUwmTa": WHISPER_SMALL,
    "DpSupportBot": PRIVATE_MODEL,
}

# GET /v1/me (SPEC `Me`).
ME: dict = {
    "uid": "u-emu-5a1c9e0b",
    "email": "emulator@example.com",
    "email_verified": True,
    "account_setup": True,
    "display_name": "Emulator User",
    "provider": "github",
    "picture": "https://avatars.githubusercontent.com/u/0?v=4",
    "is_admin": False,
    "name": "Emulator User",
    "first_name": "Emulator",
    "last_name": "User",
    "country": "US",
    "is_business_account": False,
    "company": "",
    "website": "",
    "title": "",
}

# GET /cli/version: deepctl's weekly version check.
CLI_VERSION: dict = {"min": "0.0.1", "update": "0.0.1", "latest": "0.6.0"}

_MODEL_OUT_FIELDS = (
    "model_name",
    "type",
    "reported_type",
    "description",
    "cover_img_url",
    "tags",
    "pricing",
    "max_tokens",
    "replaced_by",
    "deprecated",
    "quantization",
    "mmlu",
    "expected",
    "private",
    "is_partner",
)


def find_model(name: str, *, include_private: bool) -> dict | None:
    """The catalogue entry called `name`, or None (private ones only when allowed)."""
    for model in MODELS:
        if model["model_name"] == name and (include_private or not model["private"]):
            return model
    return None


def serving_model(model: dict) -> dict:
    """The model that actually serves requests: deprecated models forward to `replaced_by`."""
    target = model.get("replaced_by") and find_model(model["replaced_by"], include_private=True)
    return target or model


def model_out(model: dict) -> dict:
    """The `ModelOut` object of /models/list (a malformed entry stays malformed)."""
    return {k: copy.deepcopy(model[k]) for k in _MODEL_OUT_FIELDS if k in model}


def versions(model: dict) -> list[dict]:
    """The `ModelVersionOut` list of /models/{m}/versions."""
    return [{"model_name": model["model_name"], **v} for v in VERSIONS[model["model_name"]]]


def model_card(model: dict, version: str | None = None) -> dict | None:
    """The `ModelInfoOut` of /models/{m}[?version=V]; None for an unknown version."""
    known = [v["version"] for v in VERSIONS[model["model_name"]]]
    if version is not None and version not in known:
        return None
    name, task = model["model_name"], model["type"]
    card = model_out(model)
    card.update(
        {
            "version": version or known[0],
            "featured": False,
            "public": not model["private"],
            "owner": name.split("/")[0],
            "curl_inv": (
                f' curl -X POST \\\n    -H "Authorization: bearer $AUTH_TOKEN"  \\\n'
                f"    -F 'input=Hello'  \\\n    'https://api.deepinfra.com/v1/inference/{name}'"
            ),
            "cmdline_inv": f" deepctl infer \\\n    -m '{name}'  \\\n    -i 'input=Hello'",
            "txt_docs": f"See https://deepinfra.com/{name}/api for the {task} input fields.",
            "out_example": '{\n  "request_id": "RWZDRhS5kdoM1XWwXLEshynO",\n  "inference_status": '
            '{"status": "succeeded", "runtime_ms": 100, "cost": 0.0001}\n}',
            "out_docs": "request_id (string): request id\ninference_status (object): status of the inference",
            "meta": {},
            "schemas": [{"key": "default", "url": f"/models/{name}/schema/default"}],
        }
    )
    if task == "text-generation":
        card["schemas"] += [
            {"key": "openai-completions", "url": f"/models/{name}/schema/openai-completions"},
            {"key": "openai-chat-completions", "url": f"/models/{name}/schema/openai-chat-completions"},
        ]
    card.update(copy.deepcopy(CARDS.get(name, {})))
    return card


def cost_usd(
    pricing: dict | None,
    *,
    tokens_input: int = 0,
    tokens_generated: int = 0,
    runtime_ms: int = 0,
    input_sec: float = 0.0,
    output_sec: float = 0.0,
    input_chars: int = 0,
    image_units: int = 0,
) -> float:
    """What one request costs in USD under `pricing` (cents in the catalogue, hence /100).

    `uptime` models are billed for the deployment's uptime, not per request: 0.0.  A model
    without pricing also costs 0.0.
    """
    if not pricing:
        return 0.0
    kind = pricing.get("type")
    if kind == "tokens":
        return (
            tokens_input * pricing["cents_per_input_token"] / 100
            + tokens_generated * pricing["cents_per_output_token"] / 100
        )
    if kind == "input_tokens":
        return tokens_input * pricing["cents_per_input_token"] / 100
    if kind == "time":
        return runtime_ms / 1000 * pricing["cents_per_sec"] / 100
    if kind == "input_length":
        return input_sec * pricing["cents_per_input_sec"] / 100
    if kind == "output_length":
        return output_sec * pricing["cents_per_output_sec"] / 100
    if kind == "input_character_length":
        return input_chars * pricing["cents_per_input_char"] / 100
    if kind == "image_units":
        return image_units * pricing["cents_per_image_unit"] / 100
    return 0.0
