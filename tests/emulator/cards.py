"""Full model cards (`ModelInfoOut` fields beyond `ModelOut`, deepinfra-api.md §4.3) for the
models that have one; the others get the generic card `catalogue.model_card` builds."""

LLAMA_70B_CARD: dict = {
    "featured": True,
    "public": True,
    "owner": "meta-llama",
    "mask_token": None,
    "mf_description": "Llama 2 70B chat, tuned for dialogue.",
    "max_output_tokens": 4096,
    "curl_inv": (
        " curl -X POST \\\n"
        '    -H "Authorization: bearer $AUTH_TOKEN"  \\\n'
        "    -F 'input=[INST] Hello! [/INST]'  \\\n"
        "    'https://api.deepinfra.com/v1/inference/meta-llama/Llama-2-70b-chat-hf'"
    ),
    "cmdline_inv": (
        " deepctl infer \\\n    -m 'meta-llama/Llama-2-70b-chat-hf'  \\\n    -i 'input=[INST] Hello! [/INST]'"
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
        "{\n"
        '  "request_id": "RWZDRhS5kdoM1XWwXLEshynO",\n'
        '  "inference_status": {\n'
        '    "status": "succeeded",\n'
        '    "runtime_ms": 243,\n'
        '    "cost": 0.0000436,\n'
        '    "tokens_input": 12,\n'
        '    "tokens_generated": 25\n'
        "  },\n"
        '  "results": [\n'
        "    {\n"
        '      "generated_text": "Hello! It\'s nice to meet you."\n'
        "    }\n"
        "  ],\n"
        '  "num_tokens": 25,\n'
        '  "num_input_tokens": 12\n'
        "}"
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
        {
            "name": "input",
            "parent": None,
            "ftype": "string",
            "description": "text to generate from",
            "allowed": None,
            "default": None,
            "examples": ["[INST] Hello! [/INST]"],
            "minimum": None,
            "exclusiveMinimum": None,
            "maximum": None,
            "exclusiveMaximum": None,
        },
        {
            "name": "max_new_tokens",
            "parent": None,
            "ftype": "integer",
            "description": "maximum length of the newly generated text",
            "allowed": None,
            "default": 2048,
            "examples": None,
            "minimum": 1,
            "exclusiveMinimum": None,
            "maximum": 100000,
            "exclusiveMaximum": None,
        },
        # the other fields txt_docs describes, by name only (the rest of each entry as above)
        *(
            {"name": name, "parent": None}
            for name in (
                "temperature",
                "top_p",
                "top_k",
                "repetition_penalty",
                "stop",
                "num_responses",
                "response_format",
                "presence_penalty",
                "frequency_penalty",
                "seed",
                "stream",
                "webhook",
            )
        ),
    ],
    "doc_blocks": [{"key": "api", "url": "/models/meta-llama/Llama-2-70b-chat-hf/doc/api"}],
    "short_doc_block": "Llama 2 70B chat. Format prompts as [INST] ... [/INST].",
    "import_time": 1689753612,
    "is_custom_deployable": False,
    "mf_name": "Llama-2-70b-chat-hf",
    "mf_title": "Llama 2 70B Chat",
}
