"""Fit the approximate Bi-Sn model shipped as ``phasemapper/data/bisn_approx.tdb``.

No assessed Bi-Sn parameters with a source phasemapper can cite were at hand, so this script builds a
simple model and fits three Redlich-Kister terms (LIQUID L0 and L1, BCT_A5 L0; RHOMBO_A7 L0 fixed at +20 kJ/mol, a small solubility of Sn in Bi) to three
published facts (T.B. Massalski (ed.), Binary Alloy Phase Diagrams, 2nd ed., ASM 1990):

- eutectic temperature 139 C = 412.15 K,
- eutectic composition 43 at.% Bi,
- solubility of Bi in (beta-Sn) at the eutectic, about 21 wt.% = 13 at.%.

Pure Sn uses the SGTE unary functions carried in the Pb-Sn database; Bi is referenced to its solid
(RHOMBO_A7, G = 0) with G(liquid) - G(solid) = 11300 (1 - T/544.55) J/mol (enthalpy of fusion
11.3 kJ/mol at the melting point 544.55 K). Lattice stabilities of the metastable end members are
fixed guesses (Sn in RHOMBO_A7 +2000 J/mol, Bi in BCT_A5 +4000 J/mol). Run:

    python scripts/fit_bisn.py        # prints the fit and rewrites src/phasemapper/data/bisn_approx.tdb
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

TARGET = {"T_e": 412.15, "x_e": 0.43, "solubility": 0.13}
OUT = Path(__file__).resolve().parents[1] / "src" / "phasemapper" / "data" / "bisn_approx.tdb"

TEMPLATE = """$ bisn_approx.tdb: an APPROXIMATE Bi-Sn model made by phasemapper (scripts/fit_bisn.py), not an
$ assessed database. Interaction terms fitted to the eutectic (139 C, 43 at.% Bi) and the solubility
$ of Bi in (beta-Sn) at the eutectic (13 at.%), from T.B. Massalski (ed.), Binary Alloy Phase
$ Diagrams, ASM 1990. Pure Sn: SGTE unary functions (A.T. Dinsdale, CALPHAD 15 (1991) 317) as carried
$ in the Pb-Sn database of pycalphad's tests. Pure Bi: solid reference G = 0, liquid 11300 (1 - T/544.55).
$ Fitted values: {fit}
 ELEMENT /-   ELECTRON_GAS              0.0000E+00  0.0000E+00  0.0000E+00!
 ELEMENT VA   VACUUM                    0.0000E+00  0.0000E+00  0.0000E+00!
 ELEMENT BI   RHOMBO_A7                 2.0898E+02  6.4266E+03  5.6735E+01!
 ELEMENT SN   BCT_A5                    1.1871E+02  6.3220E+03  5.1195E+01!
FUNCTION GHSERSN    100  -7958.517+122.750027*T-25.858*T*LN(T)
    +5.1185E-04*T**2-3.192767E-06*T**3+18440*T**(-1);                   250 Y
    -5855.135+65.427891*T-15.961*T*LN(T)-.0188702*T**2+3.121167E-06*T**3
    -61960*T**(-1);                                                  505.08 Y
    +2524.724+3.989845*T-8.2590486*T*LN(T)-.016814429*T**2
    +2.623131E-06*T**3-1081244*T**(-1)-1.2307E+25*T**(-9);              800 Y
    -8256.959+138.981456*T-28.4512*T*LN(T)-1.2307E+25*T**(-9);          3000 N !
FUNCTION GSNLIQ     100
    +7104.222-14.09088*T+1.49316649E-18*T**7+GHSERSN#;               505.06 Y
    +6970.705-13.813302*T+1.24912E+25*T**(-9)+GHSERSN#;                3000 N !
FUNCTION GBILIQ  298.15  +11300-20.7511*T;                             3000 N !
 TYPE_DEFINITION % SEQ *!
 DEFINE_SYSTEM_DEFAULT ELEMENT 2 !
 DEFAULT_COMMAND DEF_SYS_ELEMENT VA /- !
 PHASE LIQUID:L %  1  1.0  !
    CONSTITUENT LIQUID:L :BI,SN :  !
   PARAMETER G(LIQUID,BI;0)     298.15  +GBILIQ#;                       3000 N !
   PARAMETER G(LIQUID,SN;0)     298.15  +GSNLIQ#;                       3000 N !
   PARAMETER G(LIQUID,BI,SN;0)  298.15  {liquid:+.1f};                  3000 N !
   PARAMETER G(LIQUID,BI,SN;1)  298.15  {liquid1:+.1f};                 3000 N !
 PHASE BCT_A5  %  2 1   3 !
    CONSTITUENT BCT_A5  :BI,SN : VA% :  !
   PARAMETER G(BCT_A5,BI:VA;0)      298.15  +4000;                      3000 N !
   PARAMETER G(BCT_A5,SN:VA;0)      298.15  +GHSERSN#;                  3000 N !
   PARAMETER G(BCT_A5,BI,SN:VA;0)   298.15  {bct:+.1f};                 3000 N !
 PHASE RHOMBO_A7  %  2 1   3 !
    CONSTITUENT RHOMBO_A7  :BI,SN : VA% :  !
   PARAMETER G(RHOMBO_A7,BI:VA;0)   298.15  +0;                         3000 N !
   PARAMETER G(RHOMBO_A7,SN:VA;0)   298.15  +2000+GHSERSN#;             3000 N !
   PARAMETER G(RHOMBO_A7,BI,SN:VA;0) 298.15 +20000;              3000 N !
"""


def write(path: Path, liquid: float, liquid1: float, bct: float, fit: str = "(template)") -> None:
    path.write_text(TEMPLATE.format(liquid=liquid, liquid1=liquid1, bct=bct, fit=fit))


def features(path: Path) -> dict[str, float]:
    from phasemapper.systems import Calphad

    s = Calphad(str(path), ("SN", "BI"), temperature=(323.15, 573.15))
    t_e, x_e = s.eutectic(tol=0.1)
    _, comp = s.fractions([[0.5, t_e - 1.0]])
    return {"T_e": t_e, "x_e": x_e, "solubility": float(comp[0, s.db_phases.index("BCT_A5")])}


def main() -> None:
    tmp = Path(tempfile.mkdtemp()) / "bisn.tdb"
    scale = np.array([3.0, 0.01, 0.01])

    def residual(theta: np.ndarray) -> np.ndarray:
        write(tmp, *theta)
        f = features(tmp)
        r = np.array([f["T_e"] - TARGET["T_e"], f["x_e"] - TARGET["x_e"], f["solubility"] - TARGET["solubility"]])
        print(np.round(theta, 1), {k: round(v, 4) for k, v in f.items()}, flush=True)
        return r / scale

    fit = least_squares(residual, x0=np.array([690.0, -400.0, 3810.0]), diff_step=0.05, max_nfev=40)
    liquid, liquid1, bct = fit.x
    write(tmp, liquid, liquid1, bct)
    f = features(tmp)
    summary = ", ".join(f"{k} = {v:.4f}" for k, v in f.items())
    write(OUT, liquid, liquid1, bct, fit=summary)
    print("wrote", OUT, summary, file=sys.stderr)


if __name__ == "__main__":
    main()
