"""VAT exemption codes (pt-compliance §6.3): the codes InvoiceXpress accepts, with the legal
wording that must be printed and exported (TaxExemptionReason, 6-60 characters). "M00" is what
clients send for "no exemption"."""

from __future__ import annotations

NONE = "M00"

# InvoiceXpress's table (OpenAPI "IVA exemption codes"): code -> description on the invoice.
EXEMPTIONS: dict[str, str] = {
    "M01": "Artigo 16.º, n.º 6 do CIVA",
    "M02": "Artigo 6.º do Decreto-Lei n.º 198/90, de 19 de junho",
    "M04": "Isento artigo 13.º do CIVA",
    "M05": "Isento artigo 14.º do CIVA",
    "M06": "Isento artigo 15.º do CIVA",
    "M07": "Isento artigo 9.º do CIVA",
    "M09": "IVA – não confere direito a dedução",
    "M10": "IVA – regime de isenção",
    "M11": "Regime particular do tabaco",
    "M12": "Regime da margem de lucro – Agências de viagens",
    "M13": "Regime da margem de lucro – Bens em segunda mão",
    "M14": "Regime da margem de lucro – Objetos de arte",
    "M15": "Regime da margem de lucro – Objetos de coleção e antiguidades",
    "M16": "Isento artigo 14.º do RITI",
    "M19": "Outras isenções",
    "M20": "IVA – regime forfetário",
    "M21": "IVA – não confere direito à dedução (ou expressão similar)",
    "M25": "Mercadorias à consignação",
    "M30": "IVA – autoliquidação",
    "M31": "IVA – autoliquidação",
    "M32": "IVA – autoliquidação",
    "M33": "IVA – autoliquidação",
    "M40": "IVA – autoliquidação",
    "M41": "IVA – autoliquidação",
    "M42": "IVA – autoliquidação",
    "M43": "IVA – autoliquidação",
    "M44": "IVA – Regras específicas - artigo 6.º",
    "M45": "IVA – Regime transfronteiriço de isenção",
    "M46": "IVA – e-TaxFree",
    "M99": "Não sujeito ou não tributado",
}


def is_known(code: str) -> bool:
    return code == NONE or code in EXEMPTIONS


def should_be_one_of(field: str = "Tax exemption") -> str:
    """The refusal InvoiceXpress answers (live: "Tax exemption should be one of: M09, M08, …")."""
    return f"{field} should be one of: {', '.join(EXEMPTIONS)}"


def saft_reason(code: str) -> str:
    """The wording for SAF-T's TaxExemptionReason (6-60 characters). InvoiceXpress's M15 text
    is 61 characters; AT's own table writes it without spaces around the dash."""
    reason = EXEMPTIONS[code]
    return reason if len(reason) <= 60 else reason.replace(" – ", "–")
