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

# ModelOut objects (SPEC): the fields /models/list returns.  `private: 1` marks the model
# that only /models/private/list serves.
MODELS: list[dict] = [
    {
        "model_name": LLAMA_70B,
        "type": "text-generation",
        "reported_type": "text-generation",
        "description": "LLaMa 2 is a collections of LLMs trained by Meta. "
        "This is the 70B chat optimized version.",
        "cover_img_url": "https://shared.deepinfra.com/models/meta-llama/Llama-2-70b-chat-hf/cover_image.jpg",
        "tags": ["llama-2", "chat"],
        "pricing": {
            "type": "tokens",
            "cents_per_input_token": 0.000064,
            "cents_per_output_token": 0.00008,
            "short": "$0.64/$0.80 in/out Mtoken",
        },
        "max_tokens": 4096,
        "replaced_by": None,
        "deprecated": None,
        "quantization": "fp16",
        "mmlu": 0.689,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": LLAMA_7B,
        "type": "text-generation",
        "reported_type": "text-generation",
        "description": "LLaMa 2 is a collections of LLMs trained by Meta. "
        "This is the 7B chat optimized version.",
        "cover_img_url": "",
        "tags": ["llama-2", "chat"],
        "pricing": {"type": "tokens", "cents_per_input_token": 0.000007, "cents_per_output_token": 0.000009},
        "max_tokens": 4096,
        "replaced_by": None,
        "deprecated": None,
        "quantization": "fp16",
        "mmlu": 0.458,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": MISTRAL_7B,
        "type": "text-generation",
        "reported_type": "text-generation",
        "description": "The Mistral-7B-Instruct-v0.1 Large Language Model (LLM) is a instruct "
        "fine-tuned version of the Mistral-7B-v0.1 generative text model.",
        "cover_img_url": "",
        "tags": ["chat"],
        "pricing": {"type": "tokens", "cents_per_input_token": 0.0000055, "cents_per_output_token": 0.0000055},
        "max_tokens": 32768,
        "replaced_by": None,
        "deprecated": None,
        "quantization": "bfloat16",
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": BGE_LARGE,
        "type": "embeddings",
        "reported_type": "embeddings",
        "description": "BGE embedding model for English text.",
        "cover_img_url": "",
        "tags": [],
        "pricing": {"type": "input_tokens", "cents_per_input_token": 0.000001},
        "max_tokens": 512,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": WHISPER_SMALL,
        "type": "automatic-speech-recognition",
        "reported_type": "automatic-speech-recognition",
        "description": "Whisper is a general-purpose speech recognition model.",
        "cover_img_url": "",
        "tags": [],
        "pricing": {"type": "input_length", "cents_per_input_sec": 0.0005, "short": "$0.0003 / minute"},
        "max_tokens": None,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": STABLE_DIFFUSION,
        "type": "text-to-image",
        "reported_type": "text-to-image",
        "description": "Stable Diffusion is a latent text-to-image diffusion model.",
        "cover_img_url": "",
        "tags": [],
        "pricing": {"type": "time", "cents_per_sec": 0.05, "short": "$0.0005 / second"},
        "max_tokens": None,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": DEDICATED_13B,
        "type": "text-generation",
        "reported_type": "text-generation",
        "description": "A dedicated Llama 2 13B deployment billed by uptime.",
        "cover_img_url": "",
        "tags": ["dedicated"],
        "pricing": {"type": "uptime", "cents_per_sec": 0.0333, "short": "$1.20 / hour"},
        "max_tokens": 4096,
        "replaced_by": None,
        "deprecated": None,
        "quantization": "fp16",
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": KOKORO,
        "type": "text-to-speech",
        "reported_type": "text-to-speech",
        "description": "Kokoro is a small open-weight text-to-speech model.",
        "cover_img_url": "",
        "tags": [],
        "pricing": {"type": "output_length", "cents_per_output_sec": 0.0008},
        "max_tokens": None,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": XTTS,
        "type": "text-to-speech",
        "reported_type": "text-to-speech",
        "description": "XTTS is a voice generation model billed per input character.",
        "cover_img_url": "",
        "tags": [],
        "pricing": {"type": "input_character_length", "cents_per_input_char": 0.00008},
        "max_tokens": None,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": True,
    },
    {
        "model_name": FLUX_SCHNELL,
        "type": "text-to-image",
        "reported_type": "text-to-image",
        "description": "FLUX.1 [schnell] generates images from text, billed per image unit.",
        "cover_img_url": "",
        "tags": [],
        "pricing": {"type": "image_units", "cents_per_image_unit": 0.05, "short": "$0.0005 / image unit"},
        "max_tokens": None,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": True,
    },
    {
        "model_name": LLAMA_13B_DEPRECATED,
        "type": "text-generation",
        "reported_type": "text-generation",
        "description": "LLaMa 2 13B chat. Deprecated: requests are forwarded to Llama-2-70b-chat-hf.",
        "cover_img_url": "",
        "tags": ["llama-2", "chat"],
        "pricing": {"type": "tokens", "cents_per_input_token": 0.000022, "cents_per_output_token": 0.000022},
        "max_tokens": 4096,
        "replaced_by": LLAMA_70B,
        "deprecated": 1718236800,
        "quantization": "fp16",
        "mmlu": 0.548,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        # Malformed on purpose: ModelOut requires `pricing`, this entry has none.
        "model_name": NO_PRICING,
        "type": "text-generation",
        "reported_type": "text-generation",
        "description": "A catalogue entry without pricing.",
        "cover_img_url": "",
        "tags": [],
        "max_tokens": 2048,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": False,
    },
    {
        "model_name": PRIVATE_MODEL,
        "type": "text-generation",
        "reported_type": "text-generation",
        "description": "A private fine-tune of Llama 2 7B owned by the emulator's user.",
        "cover_img_url": "",
        "tags": ["private"],
        "pricing": {"type": "tokens", "cents_per_input_token": 0.000007, "cents_per_output_token": 0.000009},
        "max_tokens": 4096,
        "replaced_by": None,
        "deprecated": None,
        "quantization": "fp16",
        "mmlu": None,
        "expected": None,
        "private": 1,
        "is_partner": False,
    },
]

# ModelVersionOut data, newest first; the first one is what /models/{m} reports.
VERSIONS: dict[str, list[dict]] = {
    LLAMA_70B: [
        {"version": "d2ca389ff883454850a801a3f54ae57ea18d05320e51e9f3f799bb997ef9a270",
         "uploaded_at": "2023-11-02T10:14:51.118203+00:00"},
        {"version": "b3582270d33e5c1c0e9f2ce3acbe1494e4f27a8d0468a079121d9b66572fd018",
         "uploaded_at": "2023-08-21T17:02:33.503911+00:00"},
        {"version": "adb8e898caa3b7a43c44fe473701dd7f6ec2692ed5ba14b7920744e14e2a1c1b",
         "uploaded_at": "2023-07-19T08:40:12.007422+00:00"},
    ],
    LLAMA_7B: [
        {"version": "dc9d3c87f36f60f05dc647d97318d704c06b29d33587ebf8c5415ee86e0609f6",
         "uploaded_at": "2023-10-05T12:30:00.000000+00:00"},
        {"version": "df8a515453d6eb2bb955d3adfd59a1b4888773439bfcaee84ea40a0a67051943",
         "uploaded_at": "2023-07-19T08:41:02.551830+00:00"},
    ],
    MISTRAL_7B: [{"version": "f41eeefc9d5a8e34991bce40951eaf52aa31ee1fef74c7b35d50eb958cd69603",
                  "uploaded_at": "2023-09-28T15:11:46.300112+00:00"}],
    BGE_LARGE: [{"version": "3ee5ef40ada7f034ddc55f189d0c603487e118bd065b83900479986c32782a72",
                 "uploaded_at": "2023-09-15T09:00:00.000000+00:00"}],
    WHISPER_SMALL: [
        {"version": "33c4be9a7100e9701664457be214b77094dde4f878800405ca2c04314cf84834",
         "uploaded_at": "2023-03-02T11:20:19.000000+00:00"},
        {"version": "b05bdaaaed5df063c2c7e3a66741f3dacd2013883afd6d4f0f500188b01edac8",
         "uploaded_at": "2023-01-19T21:52:03.626241+00:00"},
    ],
    STABLE_DIFFUSION: [{"version": "5df111458ed05dcf47f44a82713f1b4bba84c8c845982b58f9b9a14fca8d0183",
                        "uploaded_at": "2023-02-10T18:00:00.000000+00:00"}],
    DEDICATED_13B: [{"version": "59f3a48066a29d6a1bb862fa1d5ac5e384626fa67267d953aed22939ee85ea0e",
                     "uploaded_at": "2024-01-08T07:45:00.000000+00:00"}],
    KOKORO: [{"version": "872d00c521b46c36de65407291113e62ea7c53cd7c1182c85e8a819b97a8c71a",
              "uploaded_at": "2025-01-14T13:00:00.000000+00:00"}],
    XTTS: [{"version": "ae224fc89df2ead79df266fc3d072d67c5cc4956add875ca98a8aca612ed998b",
            "uploaded_at": "2024-03-01T10:00:00.000000+00:00"}],
    FLUX_SCHNELL: [{"version": "981435370632d221a3cfd961d155687857a58cbc3d61edd8d1375903f0eb5cc5",
                    "uploaded_at": "2024-08-02T16:30:00.000000+00:00"}],
    LLAMA_13B_DEPRECATED: [{"version": "b08027b125e4d13d11959163d9b339fcec137a4e430ace99cf042f414816dc1d",
                            "uploaded_at": "2023-07-19T08:40:55.000000+00:00"}],
    NO_PRICING: [{"version": "86177e4fbcfb74c7b52fc67e423741d950bde859461b27a3df19c84b00d13322",
                  "uploaded_at": "2024-02-02T02:02:02.000000+00:00"}],
    PRIVATE_MODEL: [{"version": "0ee67d0f811f87bea691c02c1b3cef96de8578ab27e03c8c5236a0e90b024941",
                     "uploaded_at": "2024-05-20T09:15:00.000000+00:00"}],
}

# ModelInfoOut fields beyond ModelOut.  Llama-2-70b has a full card; the others get the
# generic card built by `model_card` below.
CARDS: dict[str, dict] = {
    LLAMA_70B: {
        "featured": True,
        "public": True,
        "owner": "meta-llama",
        "mask_token": None,
        "mf_description": "Llama 2 70B chat, tuned for dialogue.",
        "max_output_tokens": 4096,
        "curl_inv": (
            ' curl -X POST \\\n'
            '    -H "Authorization: bearer $AUTH_TOKEN"  \\\n'
            "    -F 'input=[INST] Hello! [/INST]'  \\\n"
            "    'https://api.deepinfra.com/v1/inference/meta-llama/Llama-2-70b-chat-hf'"
        ),
        "cmdline_inv": (
            " deepctl infer \\\n"
            "    -m 'meta-llama/Llama-2-70b-chat-hf'  \\\n"
            "    -i 'input=[INST] Hello! [/INST]'"
        ),
        "txt_docs": (
            "input (string): text to generate from\n"
            "max_new_tokens (integer): maximum length of the newly generated text. "
            "Default value: 2048. Range: 1 ≤ max_new_tokens ≤ 100000\n"
            "temperature (number): temperature to use for sampling. 0 means the output is "
            "deterministic. Values greater than 1 encourage more diversity. Default value: 0.7\n"
            "top_p (number): Sample from the set of tokens with highest probability such that "
            "sum of probabilies is higher than p. Default value: 0.9. Range: 0 < top_p ≤ 1\n"
            "top_k (integer): Sample from the best k (number of) tokens. 0 means off. "
            "Default value: 0. Range: 0 ≤ top_k < 100000\n"
            "repetition_penalty (number): repetition penalty. Value of 1 means no penalty. "
            "Default value: 1. Range: 0.01 ≤ repetition_penalty ≤ 5\n"
            "stop (array): Up to 4 strings that will terminate generation immediately\n"
            "num_responses (integer): Number of output sequences to return. Incompatible with "
            "streaming. Default value: 1. Range: 1 ≤ num_responses ≤ 2\n"
            "stream (boolean): Whether to stream tokens. Default value: false\n"
            "webhook (file): The webhook to call when inference is done"
        ),
        "out_example": (
            '{\n'
            '  "request_id": "RWZDRhS5kdoM1XWwXLEshynO",\n'
            '  "inference_status": {\n'
            '    "status": "succeeded",\n'
            '    "runtime_ms": 243,\n'
            '    "cost": 0.0000436,\n'
            '    "tokens_input": 12,\n'
            '    "tokens_generated": 25\n'
            '  },\n'
            '  "results": [\n'
            '    {\n'
            '      "generated_text": "Hello! It\'s nice to meet you."\n'
            '    }\n'
            '  ],\n'
            '  "num_tokens": 25,\n'
            '  "num_input_tokens": 12\n'
            '}'
        ),
        "out_docs": (
            "request_id (string): request id\n"
            "inference_status (object): status of the inference: status, runtime_ms, cost (USD), "
            "tokens_input, tokens_generated\n"
            "results (array): a list of generated texts\n"
            "num_tokens (integer): number of tokens generated\n"
            "num_input_tokens (integer): number of input tokens"
        ),
        "meta": {
            "github_url": "https://github.com/facebookresearch/llama",
            "paper_url": "https://arxiv.org/abs/2307.09288",
            "license_url": "https://ai.meta.com/llama/license/",
            "cover_img_url": "https://shared.deepinfra.com/models/meta-llama/Llama-2-70b-chat-hf/cover_image.jpg",
            "readme": "# Llama 2\n\nLlama 2 is a collection of pretrained and fine-tuned "
            "generative text models ranging in scale from 7 billion to 70 billion parameters.",
        },
        "in_fields": [
            {"name": "input", "parent": None, "ftype": "string", "description": "text to generate from",
             "allowed": None, "default": None, "examples": ["[INST] Hello! [/INST]"],
             "minimum": None, "exclusiveMinimum": None, "maximum": None, "exclusiveMaximum": None},
            {"name": "max_new_tokens", "parent": None, "ftype": "integer",
             "description": "maximum length of the newly generated text", "allowed": None,
             "default": 2048, "examples": None, "minimum": 1, "exclusiveMinimum": None,
             "maximum": 100000, "exclusiveMaximum": None},
        ],
        "doc_blocks": [{"key": "api", "url": "/models/meta-llama/Llama-2-70b-chat-hf/doc/api"}],
        "short_doc_block": "Llama 2 70B chat. Format prompts as [INST] ... [/INST].",
        "import_time": 1689753612,
        "is_custom_deployable": False,
        "mf_name": "Llama-2-70b-chat-hf",
        "mf_title": "Llama 2 70B Chat",
    },
}

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
    "model_name", "type", "reported_type", "description", "cover_img_url", "tags", "pricing",
    "max_tokens", "replaced_by", "deprecated", "quantization", "mmlu", "expected", "private",
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
    card.update({
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
    })
    if task == "text-generation":
        card["schemas"] += [
            {"key": "openai-completions", "url": f"/models/{name}/schema/openai-completions"},
            {"key": "openai-chat-completions", "url": f"/models/{name}/schema/openai-chat-completions"},
        ]
    card.update(copy.deepcopy(CARDS.get(name, {})))
    return card


def cost_usd(pricing: dict | None, *, tokens_input: int = 0, tokens_generated: int = 0,
             runtime_ms: int = 0, input_sec: float = 0.0, output_sec: float = 0.0,
             input_chars: int = 0, image_units: int = 0) -> float:
    """What one request costs in USD under `pricing` (cents in the catalogue, hence /100).

    `uptime` models are billed for the deployment's uptime, not per request: 0.0.  A model
    without pricing also costs 0.0.
    """
    if not pricing:
        return 0.0
    kind = pricing.get("type")
    if kind == "tokens":
        return (tokens_input * pricing["cents_per_input_token"] / 100
                + tokens_generated * pricing["cents_per_output_token"] / 100)
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
