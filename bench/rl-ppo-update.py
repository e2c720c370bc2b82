"""The PPO update of bench/rl.ts in PyTorch (the reference): same network
(obs 24 -> 64 -> 64 -> 6 policy, 24 -> 64 -> 64 -> 1 value, tanh), 2048
samples, minibatch 64, 10 epochs, clipped surrogate + value loss + entropy,
Adam, gradient-norm clipping. Prints the best of 3 runs in seconds."""
import sys
import time

import torch

torch.manual_seed(0)
N, D, A, H = 2048, 24, 6, 64
BATCH, EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else 64, 10


def mlp(out):
    return torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.Tanh(), torch.nn.Linear(H, H), torch.nn.Tanh(), torch.nn.Linear(H, out))


pi, vf = mlp(A), mlp(1)
opt = torch.optim.Adam(list(pi.parameters()) + list(vf.parameters()), lr=3e-4, eps=1e-5)
obs = torch.randn(N, D)
actions = torch.randint(0, A, (N,))
old_logp = torch.full((N,), -1.79)
adv = torch.randn(N)
ret = torch.randn(N)
mask = torch.ones(N, A, dtype=torch.bool)


def update():
    for _ in range(EPOCHS):
        perm = torch.randperm(N)
        for s in range(0, N, BATCH):
            idx = perm[s:s + BATCH]
            logits = pi(obs[idx]).masked_fill(~mask[idx], -1e8)
            dist = torch.distributions.Categorical(logits=logits)
            logp = dist.log_prob(actions[idx])
            a = adv[idx]
            a = (a - a.mean()) / (a.std() + 1e-8)
            ratio = torch.exp(logp - old_logp[idx])
            pl = -torch.min(ratio * a, torch.clamp(ratio, 0.8, 1.2) * a).mean()
            vl = ((vf(obs[idx]).squeeze(-1) - ret[idx]) ** 2).mean()
            loss = pl + 0.5 * vl - 0.01 * dist.entropy().mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(pi.parameters()) + list(vf.parameters()), 0.5)
            opt.step()


update()
best = float('inf')
for _ in range(3):
    t = time.perf_counter()
    update()
    best = min(best, time.perf_counter() - t)
print(f"{best:.4f} {torch.__version__} {torch.get_num_threads()}")
