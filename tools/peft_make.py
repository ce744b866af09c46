#!/usr/bin/env python3
"""Writes an adapter the way Python users make one, for lorastream's `adapters import` to read.

Run where torch, transformers, peft and safetensors are installed, on a PeftFixture directory:

    python3 tools/peft_make.py DIR OUT

It builds the Hugging Face BertModel of DIR/base, wraps it with PEFT (LoRA on query, value and the
word embeddings, with a rank_pattern and an alpha_pattern), gives every factor random values, saves
it with save_pretrained to OUT/py-adapter, and writes the mean-pooled outputs of the adapted model
for DIR/expected.json's inputs to OUT/py-expected.json. io.lorastream.lora.peft.PeftImportCheck
then imports OUT/py-adapter and compares lorastream's outputs with those.
"""
import json
import sys

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file
from transformers import BertConfig, BertModel


def pooled(model, ids, mask):
    with torch.no_grad():
        h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


def main(d, out):
    torch.manual_seed(11)
    exp = json.load(open(f"{d}/expected.json"))
    ids = torch.tensor(exp["input_ids"], dtype=torch.long)
    mask = torch.tensor(exp["attention_mask"], dtype=torch.long)
    model = BertModel(BertConfig.from_json_file(f"{d}/base/config.json"), add_pooling_layer=False)
    model.load_state_dict(load_file(f"{d}/base/model.safetensors"), strict=False)
    model.eval()
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value", "word_embeddings"],
                     rank_pattern={"layer.0.attention.self.query": 6}, alpha_pattern={"value": 12}, lora_dropout=0.0)
    peft_model = get_peft_model(model, cfg)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn_like(p) * 0.3)
    peft_model.eval()
    peft_model.save_pretrained(f"{out}/py-adapter")
    result = pooled(peft_model, ids, mask)
    json.dump({"input_ids": exp["input_ids"], "pooled": result.tolist(), "peft_keys": sorted(
        k for k in load_file(f"{out}/py-adapter/adapter_model.safetensors"))}, open(f"{out}/py-expected.json", "w"))
    print("wrote", f"{out}/py-adapter", "keys:", len(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
