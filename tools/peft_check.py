#!/usr/bin/env python3
"""Checks a lorastream PEFT export against PyTorch, transformers and PEFT.

Run where torch, transformers, peft and safetensors are installed, on the directory written by
io.lorastream.lora.peft.PeftFixture (base/, adapter/, expected.json):

    python3 tools/peft_check.py DIR

It builds a Hugging Face BertModel from base/config.json and base/model.safetensors, checks its
mean-pooled output against lorastream's frozen base, loads adapter/ with PeftModel.from_pretrained,
and checks the adapted pooled output against lorastream's merged model (tolerance 1e-4).
Exit status 0 when both agree, 1 otherwise.
"""
import json
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import BertConfig, BertModel


def pooled(model, ids, mask):
    with torch.no_grad():
        h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


def main(d):
    exp = json.load(open(f"{d}/expected.json"))
    ids = torch.tensor(exp["input_ids"], dtype=torch.long)
    mask = torch.tensor(exp["attention_mask"], dtype=torch.long)
    config = BertConfig.from_json_file(f"{d}/base/config.json")
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(load_file(f"{d}/base/model.safetensors"), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        print(f"base weights do not fit BertModel: missing {missing}, unexpected {unexpected}")
        return 1
    model.eval()
    base_diff = (pooled(model, ids, mask) - torch.tensor(exp["pooled_base"])).abs().max().item()
    peft_model = PeftModel.from_pretrained(model, f"{d}/adapter")
    peft_model.eval()
    lora_diff = (pooled(peft_model, ids, mask) - torch.tensor(exp["pooled"])).abs().max().item()
    moved = (torch.tensor(exp["pooled"]) - torch.tensor(exp["pooled_base"])).abs().max().item()
    print(json.dumps({"torch": torch.__version__, "max_abs_diff_base": base_diff, "max_abs_diff_lora": lora_diff,
                      "adapter_effect_max_abs": moved}))
    ok = base_diff < 1e-4 and lora_diff < 1e-4 and moved > 1e-2
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "peft-fixture"))
