"""Ergen & Pilanci (ICML 2021), THEORY.md Part B: three-layer parallel ReLU networks.

One module per job:

* :mod:`harness.deep.model` — the non-convex problem (5): forward pass, objective,
  gradient, Frobenius projection.
* :mod:`harness.deep.arrangements` — the hyperplane arrangements of Remark 3 (sampled)
  and the saturated ("exhaustive-by-saturation") set of tiny instances; coverage test.
* :mod:`harness.deep.convex` — the convex program (13): cvxpy + Clarabel reference
  solve (vectorised), numpy objective and cone violation, memory estimate.
* :mod:`harness.deep.mapping` — Prop. 1 (convex -> network) and the forward map
  (network -> feasible point of (13)).
* :mod:`harness.deep.training` — SGD with momentum and Adam on (5).
* :mod:`harness.deep.penalized` — the penalised program (16) with Adam.
* :mod:`harness.deep.table1` — ``make table1``.

Derivations of the items THEORY.md Part B marks [RECON] / [UNRECOVERED]
-----------------------------------------------------------------------

Notation. Sub-network ``k``: ``W_1k`` (d, m1) with columns ``w_1kq``, ``w_2k`` (m1,),
``w_3k`` scalar; output ``f_k(X) = ((X W_1k)_+ w_2k)_+ w_3k``.

**(5)** ``p = 1/2 ||sum_k f_k(X) - y||^2 + beta/2 sum_k (||w_2k||^2 + w_3k^2)`` s.t.
``||W_1k||_F <= 1`` (THEORY.md Part B, "Problem (5)").

**(6), Lemma 1.** ``f_k`` is positively homogeneous in ``(w_2k, w_3k)`` jointly with
weights ``(a, 1/a)``; ``min_a (a^2 ||w_2||^2 + w_3^2 / a^2) / 2 = ||w_2|| |w_3|``, so (5)
equals ``1/2 ||...||^2 + beta sum_k ||w_2k|| |w_3k|`` and, fixing ``||w_2k|| <= 1``, (6).

**Block variables of (13).** Let ``s_q = sign(w_2kq)`` and ``v_q = |w_2kq| w_1kq``. Then
``(X W_1k)_+ w_2k = sum_q s_q D_1q X v_q`` with ``D_1q = diag(1[X w_1kq >= 0])`` and
``(2 D_1q - I) X v_q >= 0``; with ``D_2 = diag(1[(X W_1k)_+ w_2k >= 0])`` the sub-network
output is ``w_3k D_2 sum_q s_q D_1q X v_q`` and ``(2 D_2 - I) sum_q s_q D_1q X v_q >= 0``.
By Cauchy-Schwarz ``sum_q ||v_q|| <= ||W_1k||_F ||w_2k|| <= 1``: the group norm of a block
is the sum of its ``m1`` d-dimensional parts, which is THEORY.md's "sum over ordered
d-dimensional partitions". So a block is one arrangement *combination*
``c = (D_11..D_1m1, D_2, s)`` and ``m1`` vectors ``u_cq in R^d``; (13) reads

``min 1/2 ||sum_c sigma_c D_2c sum_q s_cq D_1cq X u_cq - y||^2 + beta sum_c sum_q ||u_cq||``

over two copies of every combination (``sigma_c = +1`` for ``w'``, ``-1`` for ``w``),
subject to ``(2 D_1cq - I) X u_cq >= 0`` and ``(2 D_2c - I) sum_q s_cq D_1cq X u_cq >= 0``.

**Forward map (5) -> (13)** (:func:`harness.deep.mapping.network_to_blocks`). Sub-network
``k`` goes to the block of its own combination with ``u_q = |w_3k| |w_2kq| w_1kq`` in the
copy ``sigma = sign(w_3k)``. The outputs agree and the penalty is
``beta |w_3k| sum_q ||v_q|| <= beta |w_3k| ||w_2k|| <= beta/2 (||w_2k||^2 + w_3k^2)``, so the
value of (13) at the image is <= the value of (5): the bound ``p13 <= p5`` of Thm 1 for
every network whose combinations are in the arrangement set (coverage).

**Prop. 1 mapping (13) -> (5)** [UNRECOVERED in THEORY.md; derived here and proved in
``tests/test_deep_mapping.py``]. For every block with ``t = sum_q ||u_q|| > 0``:

``w_1q = u_q / sqrt(t ||u_q||)`` (0 when ``u_q = 0``), ``w_2q = s_q sqrt(||u_q||)``,
``w_3 = sigma sqrt(t)``.

Then ``||W_1||_F^2 = sum_q ||u_q|| / t = 1``; the cone constraints give
``(X w_1q)_+ = D_1q X w_1q`` and ``((X W_1)_+ w_2)_+ = D_2 sum_q s_q D_1q X u_q / sqrt(t)``,
so the output is ``sigma D_2 sum_q s_q D_1q X u_q`` (the block's term of (13)) and the
penalty is ``beta/2 (||w_2||^2 + w_3^2) = beta/2 (t + t) = beta t`` (the block's group
norm). Hence (5) at the mapped weights equals (13) at the solution; a solve with cone
violation ``eps`` changes the value only through the ReLUs, by O(eps).

**Arrangement counts** [RECON (15) form; our sampling choice]. A first-layer *tuple* is
the ``m1`` patterns of one Gaussian ``H_i`` (d, m1) (Remark 3's ``h_ij``); for each tuple,
``P2`` Gaussian ``h'`` (m1,) give ``D_2 = diag(1[(X H_i)_+ h' >= 0])`` and ``s = sign(h')``.
Drawing ``D_2`` from the tuple's own ``H_i`` makes every block realisable (a second layer
drawn from an independent ``H`` is, for n >> d, almost never compatible with the tuple,
leaving the block at {0}). The program then has at most ``2 d m1 P1 P2`` variables and
``2 n (m1 + 1) P1 P2`` constraints, THEORY.md's counts. Duplicate combinations are
removed; ``P1_unique`` (tuples), ``P2_unique`` (distinct ``D_2``) and ``n_blocks`` are
recorded.
"""
