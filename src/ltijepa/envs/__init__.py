"""Environments of the JEPA chapters: the counting environment (pixels: ``counting``; the
abstract deterministic MDP of Appendix C: ``counting_mdp``) and the point maze."""
