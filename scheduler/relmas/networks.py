"""The RELMAS actor and critic (paper Sec. 4.1 and 4.2), in torch.

* **Actor** μθ: LSTM(F → h) over the primer row then the RQ rows, then per step FC h → h/2 + ReLU
  and FC h/2 → G + tanh; the primer's output is discarded, so an RQ of R entries gives [R, G]:
  column 0 the priority, columns 1..M the SA scores (SA = argmax).
* **Critic** Qφ: the same architecture over state ⊕ action (F + G per step; the primer step gets a
  zero action), one Q value projected from the hidden state of the *last* step.

Batches are right-padded sequences; an LSTM is causal, so the padding never changes the outputs
of real steps and the critic just reads the hidden state at each sequence's own last step.
"""

from __future__ import annotations

import torch
from torch import nn


class Actor(nn.Module):
    """LSTM(h) → FC(h/2) ReLU → FC(G) tanh, one decision per RQ entry."""

    def __init__(self, n_features: int, n_actions: int, hidden: int = 256) -> None:
        super().__init__()
        if hidden < 2:
            raise ValueError("hidden size must be >= 2")
        self.n_features, self.n_actions, self.hidden = int(n_features), int(n_actions), int(hidden)
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.fc1 = nn.Linear(hidden, hidden // 2)
        self.fc2 = nn.Linear(hidden // 2, n_actions)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """``states`` [B, 1 + L, F] (primer first) → actions [B, L, G] in [-1, 1]."""
        h, _ = self.lstm(states)
        return torch.tanh(self.fc2(torch.relu(self.fc1(h[:, 1:]))))


class Critic(nn.Module):
    """LSTM(h) over [state, action] rows → FC(h/2) ReLU → FC(1) from the last real step."""

    def __init__(self, n_features: int, n_actions: int, hidden: int = 256) -> None:
        super().__init__()
        self.n_features, self.n_actions, self.hidden = int(n_features), int(n_actions), int(hidden)
        self.lstm = nn.LSTM(n_features + n_actions, hidden, batch_first=True)
        self.fc1 = nn.Linear(hidden, hidden // 2)
        self.fc2 = nn.Linear(hidden // 2, 1)

    def forward(self, states: torch.Tensor, actions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``states`` [B, 1 + L, F], ``actions`` [B, L, G], ``lengths`` [B] RQ rows → Q [B]."""
        B = states.shape[0]
        primer = states.new_zeros((B, 1, self.n_actions))
        z = torch.cat([states, torch.cat([primer, actions], dim=1)], dim=2)
        h, _ = self.lstm(z)
        last = h[torch.arange(B), lengths.long()]  # step index = RQ rows (the primer is step 0)
        return self.fc2(torch.relu(self.fc1(last))).squeeze(-1)


def macs_per_step(n_features: int, n_actions: int, hidden: int) -> dict[str, int]:
    """Multiply-accumulates of one actor time step (one SJ), from the layer shapes.

    LSTM: the four gates are ``W_ih x + W_hh h``: 4h·F + 4h·h MACs; the cell update
    ``c = f⊙c + i⊙g`` and ``h = o⊙tanh(c)`` add 3h element-wise products (reported apart, the
    paper's figure matches the matrix products only). FC1: h·h/2; FC2: (h/2)·G.
    """
    h = int(hidden)
    lstm = 4 * h * (n_features + h)
    fc1 = h * (h // 2)
    fc2 = (h // 2) * n_actions
    return {"lstm": lstm, "fc1": fc1, "fc2": fc2, "total": lstm + fc1 + fc2, "elementwise": 3 * h}


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))
