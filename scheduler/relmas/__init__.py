"""RELMAS (Blanco et al., DAC'24): an online DNN scheduler trained with DDPG, LSTM actor and critic.

Modules, one job each:

* :mod:`~scheduler.relmas.encoding`: the per-SJ feature rows (F = 4 + 2M, + 5 optional extension columns), normalised;
* :mod:`~scheduler.relmas.networks`: the LSTM actor and critic, and their MACs per LSTM step;
* :mod:`~scheduler.relmas.codec`: direct (paper) or residual (ours: the actor corrects PREMA-H) decoding;
* :mod:`~scheduler.relmas.reward`: the paper's reward equation on final finish times;
* :mod:`~scheduler.relmas.ddpg`: replay buffer, target networks, soft updates, exploration noise;
* :mod:`~scheduler.relmas.rollout`: one episode period by period, experiences with residual-RQ s_t+1;
* :mod:`~scheduler.relmas.scenarios`: the study's traffic and the train / validation / test seed spaces;
* :mod:`~scheduler.relmas.train`: the training loop (episodes over generated traces, checkpoints);
* :mod:`~scheduler.relmas.policy`: the ``relmas:PATH`` / ``relmas:default`` scheduling policy;
* :mod:`~scheduler.relmas.evaluate`: the paper's comparison against the baselines.
"""
