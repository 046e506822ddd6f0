"""How deep to tune: all six layers against the top four and the top two, on one equal subset.

  python models/recipe/13_depth_sweep.py SPLIT N OUT     # tune layers SPLIT..5 on N mix rows, 1 epoch

The issue asks for the whole encoder (or a way measured to be better). Each run takes the same N
rows of the v4 mix (``10_cx_mix.py``'s seeded subset), the same learning rate, epochs and seed,
and scores every validation set in full, so the only thing that changes is how many layers move.
SPLIT 0 reads the embedding output (computed here); 2 and 4 start from the cached layer-2 states.
Writes OUT/scores.json: per set macro-F1 (TweetEval also macro-recall), mean, seconds.
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
import importlib.util, json, pathlib, time
import numpy as np, torch
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
spec = importlib.util.spec_from_file_location("cx_mix", "models/recipe/10_cx_mix.py")
cx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cx)
from models.data import unescape
from models.encoder import Encoder
from models.finetune import finetune_top, hidden_at, predict
from models.metrics import sentiment_report
from models.train import DEFAULT_SEED
from sentimon.mention import SENTIMENTS as S


def subset(n):
    """The same rows (and order) ``10_cx_mix.train(n=N)`` picks: texts and labels."""
    train, _ = cx.load_mix()
    rows = [r for name, _, _ in cx.MIX for r in train[name]]
    keep = sorted(np.random.default_rng(0).choice(len(rows), n, replace=False).tolist())
    return [unescape(rows[i].text) for i in keep], np.array([S.index(rows[i].label) for i in keep])


def states_for(encoder, texts, split, cached=None):
    """Layer-``split`` states: lifted from cached layer-2 ones when split >= 2, else computed."""
    if split >= 2 and cached is not None:
        return cx.lift(encoder, cached, split)
    return hidden_at(encoder, texts, split)


def main(split, n, out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    encoder = Encoder()
    texts, y = subset(n)
    cached = None
    if split >= 2:
        parts = [torch.load(cx.CACHE / f"train_{name}.pt", weights_only=False) for name, _, _ in cx.MIX]
        every = [s for p in parts for s in p["states"]]
        keep = sorted(np.random.default_rng(0).choice(len(every), n, replace=False).tolist())
        cached = [every[i] for i in keep]
        assert all(cached[i].shape[0] == len(encoder.token_ids([texts[i]])[0]) + 2 for i in range(0, n, 997))
    t = time.time()
    states = states_for(encoder, texts, split, cached)
    _, valid = cx.load_mix()
    if os.environ.get("SMOKE"):  # a quick run of the whole path on a few rows per set
        valid = {name: rows[:40] for name, rows in valid.items()}
    valid_states = {}
    for name, rows in valid.items():
        v = torch.load(cx.CACHE / f"valid_{name}.pt", weights_only=False) if split >= 2 else None
        valid_states[name] = (states_for(encoder, [unescape(r.text) for r in rows], split,
                                         v["states"][:len(rows)] if v else None), np.array([S.index(r.label) for r in rows]))
    prep = time.time() - t
    print(f"split {split}: {n} rows, states in {prep:.0f}s", flush=True)
    t = time.time()
    top_state, head_w, hist = finetune_top(encoder, states, y, split, epochs=1.0, lr=float(os.environ.get("LR", "1e-4")),
                                           seed=DEFAULT_SEED % 1000)
    seconds = time.time() - t
    from models.finetune import _top_layers
    from models.train import load_net
    top = _top_layers(encoder, split)
    for i, layer in enumerate(top):
        prefix = f"encoder.layer.{split + i}."
        layer.load_state_dict({k[len(prefix):]: v for k, v in top_state.items() if k.startswith(prefix)})
    head = load_net(head_w)
    scores = {}
    for name, (vs, g) in valid_states.items():
        p = predict(top, head, vs)
        report = sentiment_report([S[i] for i in g], [S[i] for i in p.argmax(1)])
        scores[name] = round(report["macro_f1"], 4)
        if name == "tweeteval_sentiment":
            scores["tweeteval_recall"] = round(report["macro_recall"], 4)
    result = {"split": split, "rows": n, "lr": float(os.environ.get("LR", "1e-4")), "train_seconds": round(seconds),
              "rows_per_second": round(n / seconds, 1), "scores": scores,
              "mean_f1": round(float(np.mean([v for k, v in scores.items() if k != "tweeteval_recall"])), 4)}
    (out / "scores.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
