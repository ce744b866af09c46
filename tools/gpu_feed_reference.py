#!/usr/bin/env python3
"""How fast must the trainer's feed be on a GPU? A PyTorch + PEFT reference for bench section `wide`.

Run where torch and peft are installed and a CUDA device is visible:

    python3 tools/gpu_feed_reference.py [OUT.json]

It trains the model of `./lorastream bench` section `wide` (an MLP 1024-64-64-4, LoRA r=16 on every
linear layer, AdamW, fp32) at b=4096 and times, per micro-batch of 1024-float examples (16 MiB):
  - the step alone, on a batch already on the device;
  - the host-to-device copy of the next batch from pageable memory, then the step (what a feed
    that copies synchronously costs);
  - the copy from pinned memory with non_blocking=True on a second stream, overlapped with the
    step on the default stream (double buffering, what "overlap the next copy with the current
    step" buys).
Each figure is the median of 5 timed runs of 50 steps after 20 warm-up steps, in examples/s, with
the device's fp32 matmul rate measured in the same run for scale. The Java trainer's feed must
reach these rates for the step never to wait for the host.

It then times the step alone for the model of `bench --profile accelerator` (an MLP
1024-4096-4096-16, LoRA r=16 on every linear layer) at b=512, 1024, 2048 and 4096, with its
training FLOP/s by the matmul terms of bench's FlopModel (forward through the frozen layers and the
adapters; backward: the adapters' gradients and the input gradients, none for the frozen weights
or the first layer's input; element-wise terms and the optimizer left out) against the same matmul
rate.
"""
import json
import statistics
import sys
import time

import torch
from peft import LoraConfig, get_peft_model

WIDTH, HIDDEN, CLASSES, BATCH, RANK = 1024, 64, 4, 4096, 16
WARMUP, STEPS, RUNS = 20, 50, 5


ACCEL_LAYERS = [1024, 4096, 4096, 16]
ACCEL_BATCHES = [512, 1024, 2048, 4096]


def model(device, layers=(WIDTH, HIDDEN, HIDDEN, CLASSES)):
    mods = []
    for i in range(len(layers) - 1):
        mods.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i < len(layers) - 2:
            mods.append(torch.nn.ReLU())
    base = torch.nn.Sequential(*mods)
    targets = [str(2 * i) for i in range(len(layers) - 1)]
    cfg = LoraConfig(r=RANK, lora_alpha=16, target_modules=targets, lora_dropout=0.0)
    return get_peft_model(base, cfg).to(device)


def accelerator_profile(dev, matmul_flops):
    """Step-only rate and FLOP/s of the accelerator profile's MLP at each batch size."""
    rows = []
    m = model(dev, ACCEL_LAYERS)
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=5e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    dims = list(zip(ACCEL_LAYERS[:-1], ACCEL_LAYERS[1:]))
    for b in ACCEL_BATCHES:
        x = torch.randn(b, ACCEL_LAYERS[0], device=dev)
        y = torch.randint(0, ACCEL_LAYERS[-1], (b,), device=dev)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(m(x), y)
            loss.backward()
            opt.step()

        rate = timed(step, torch.cuda.synchronize, b)
        per_example_fwd = sum(2 * (i * o + RANK * (i + o)) for i, o in dims)
        # backward: gradients of A and B and the input gradients through A, B and the frozen W,
        # except into the first layer's input, which needs none
        per_example_bwd = sum(4 * RANK * (i + o) for i, o in dims) + sum(2 * i * o for i, o in dims[1:])
        flops = rate * (per_example_fwd + per_example_bwd)
        rows.append({"batch": b, "stepOnlyExamplesPerSecond": round(rate),
                     "trainingTflops": round(flops / 1e12, 2),
                     "ratioToMatmul": round(flops / matmul_flops, 3)})
    return rows


def timed(fn, sync, batch=BATCH):
    """Median examples/s of fn, one call per micro-batch of `batch` examples."""
    rates = []
    for _ in range(WARMUP):
        fn()
    sync()
    for _ in range(RUNS):
        t0 = time.perf_counter()
        for _ in range(STEPS):
            fn()
        sync()
        rates.append(STEPS * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def main(out):
    dev = torch.device("cuda")
    torch.manual_seed(7)
    m = model(dev)
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=5e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x_dev = torch.randn(BATCH, WIDTH, device=dev)
    y_dev = torch.randint(0, CLASSES, (BATCH,), device=dev)
    x_host = torch.randn(BATCH, WIDTH)
    y_host = torch.randint(0, CLASSES, (BATCH,))
    x_pinned = [x_host.clone().pin_memory() for _ in range(2)]
    y_pinned = [y_host.clone().pin_memory() for _ in range(2)]
    sync = torch.cuda.synchronize

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(m(x), y)
        loss.backward()
        opt.step()
        return loss

    step_only = timed(lambda: step(x_dev, y_dev), sync)

    def pageable():
        step(x_host.to(dev), y_host.to(dev))

    copy_then_step = timed(pageable, sync)

    copy_stream = torch.cuda.Stream()
    state = {"i": 0, "next": None}

    def prefetch(i):
        with torch.cuda.stream(copy_stream):
            xs = x_pinned[i % 2].to(dev, non_blocking=True)
            ys = y_pinned[i % 2].to(dev, non_blocking=True)
            ev = torch.cuda.Event()
            ev.record(copy_stream)
        return xs, ys, ev

    state["next"] = prefetch(0)

    def overlapped():
        xs, ys, ev = state["next"]
        torch.cuda.current_stream().wait_event(ev)
        state["i"] += 1
        state["next"] = prefetch(state["i"])  # the next copy runs while this step computes
        step(xs, ys)

    overlapped_rate = timed(overlapped, sync)

    a = torch.randn(BATCH, WIDTH, device=dev)
    b = torch.randn(WIDTH, WIDTH, device=dev)

    def mm():
        torch.matmul(a, b)

    mm_rate = timed(mm, sync)  # "examples"/s of a 4096x1024x1024 product
    matmul_flops = mm_rate / BATCH * 2 * BATCH * WIDTH * WIDTH
    result = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "model": f"mlp {WIDTH}-{HIDDEN}-{HIDDEN}-{CLASSES}, LoRA r={RANK} on every linear layer, AdamW, fp32",
        "batch": BATCH,
        "batchMiB": BATCH * WIDTH * 4 / 2**20,
        "stepOnlyExamplesPerSecond": round(step_only),
        "pageableCopyThenStepExamplesPerSecond": round(copy_then_step),
        "pinnedCopyOverlappedExamplesPerSecond": round(overlapped_rate),
        "hostToDeviceMiBPerSecondNeededAtStepRate": round(step_only * WIDTH * 4 / 2**20),
        "fp32MatmulTflops4096x1024x1024": round(matmul_flops / 1e12, 2),
        "tf32Matmul": torch.backends.cuda.matmul.allow_tf32,
        "acceleratorProfile": {
            "model": "mlp " + "-".join(map(str, ACCEL_LAYERS)) + f", LoRA r={RANK} on every linear layer, AdamW, fp32",
            "rows": accelerator_profile(dev, matmul_flops),
        },
    }
    print(json.dumps(result, indent=2))
    if out:
        with open(out, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
