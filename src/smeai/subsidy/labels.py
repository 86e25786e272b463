"""Display names (msgids) of the subsidy vocabulary, translated where shown."""

from __future__ import annotations

from smeai.i18n import N_

STATES = {
    "submitted": N_("Submitted for review"),
    "approved": N_("Approved (reserved)"),
    "redeeming": N_("Redemption under review"),
    "paid": N_("Paid"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
}

DOCS = {
    "quotation": N_("Quotation"),
    "contract": N_("Signed contract"),
    "invoice": N_("Invoice"),
    "payment": N_("Proof of payment"),
    "delivery": N_("Proof of delivery"),
}

KINDS = {
    "compute": N_("Compute"),
    "model": N_("Model / MaaS"),
    "dataset": N_("Dataset / corpus"),
    "saas": N_("AI-native SaaS"),
    "platform": N_("Development or industry platform"),
    "agent": N_("Scenario agent"),
    "appliance": N_("All-in-one appliance"),
    "service": N_("Custom development / consulting"),
    "training": N_("Training"),
    "rnd": N_("Supplier R&D"),
}

FLAGS = {
    "domestic_cloud": N_("Domestic cloud (the programme's own country)"),
    "domestic_chip": N_("Compute on domestic chips"),
    "filed_model": N_("A filed (备案) model service"),
    "local_compute": N_("Local compute"),
    "national_project": N_("Leading a national or provincial major project"),
    "early_stage": N_("Early-stage firm"),
}

VOUCHERS = {
    "compute": N_("Compute voucher"),
    "model": N_("Model voucher"),
    "corpus": N_("Corpus voucher"),
    "ai": N_("AI voucher / award"),
    "innovation": N_("Innovation voucher"),
    "training": N_("Training subsidy"),
    "tiered": N_("Tiered payment"),
    "retrofit": N_("Post-completion award"),
}

DONE = {
    "submit": N_("Application submitted. Upload the documents the programme asks for."),
    "upload": N_("Document uploaded."),
    "approve": N_("Approved: the amount is reserved in the pool."),
    "reject": N_("Rejected."),
    "withdraw": N_("Withdrawn: any reservation went back to the pool."),
    "redeem": N_("Redemption submitted for verification."),
    "return": N_("Redemption sent back to the enterprise."),
    "verify": N_("Verified: the payout is recorded."),
    "accept": N_("Acceptance recorded."),
    "pay": N_("The award is paid."),
}

SIZES = {"micro": N_("Micro"), "small": N_("Small"), "medium": N_("Medium"), "large": N_("Large")}
