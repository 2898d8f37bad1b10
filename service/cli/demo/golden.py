"""The demo's golden set: customer-support questions of a web shop, in English and French, with the help-centre
passage each answer is found in and its reference answer; and long-document questions about three policies,
four per document (one cluster each: questions on one document are not independent).

The references are short and exact (`contains` scores them): an answer is right when it states them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# (id, English passage, question, reference, French passage, question, reference)
SUPPORT: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("returns-window", "Items can be returned within 30 days of delivery.", "How long do I have to return an item?",
     "30 days", "Les articles peuvent être retournés sous 30 jours après la livraison.",
     "Combien de temps ai-je pour retourner un article ?", "30 jours"),
    ("standard-shipping", "Standard shipping takes 3 to 5 business days.", "How long does standard shipping take?",
     "3 to 5 business days", "La livraison standard prend de 3 à 5 jours ouvrés.",
     "Combien de temps prend la livraison standard ?", "3 à 5 jours ouvrés"),
    ("express-shipping", "Express shipping costs 12 euros and arrives the next day.", "How much is express shipping?",
     "12 euros", "La livraison express coûte 12 euros et arrive le lendemain.",
     "Combien coûte la livraison express ?", "12 euros"),
    ("free-shipping", "Shipping is free for orders above 50 euros.", "From what amount is shipping free?",
     "50 euros", "La livraison est offerte dès 50 euros d'achat.", "À partir de quel montant la livraison est-elle "
     "offerte ?", "50 euros"),
    ("refund-delay", "Refunds reach your account 5 business days after we receive the return.",
     "When will I get my refund?", "5 business days", "Le remboursement arrive 5 jours ouvrés après la réception "
     "du retour.", "Quand serai-je remboursé ?", "5 jours ouvrés"),
    ("support-hours", "Our support team answers from 9am to 6pm, Monday to Friday.", "When is support open?",
     "9am to 6pm", "Notre service client répond de 9h à 18h, du lundi au vendredi.",
     "Quand le service client est-il ouvert ?", "9h à 18h"),
    ("phone-number", "You can call us at 01 84 88 20 00.", "What is your phone number?", "01 84 88 20 00",
     "Vous pouvez nous appeler au 01 84 88 20 00.", "Quel est votre numéro de téléphone ?", "01 84 88 20 00"),
    ("warranty", "Every appliance has a 2-year warranty.", "How long is the warranty on appliances?", "2 years",
     "Chaque appareil est garanti 2 ans.", "Quelle est la durée de garantie des appareils ?", "2 ans"),
    ("gift-card-validity", "Gift cards are valid for one year.", "How long is a gift card valid?", "one year",
     "Les cartes cadeaux sont valables un an.", "Combien de temps une carte cadeau est-elle valable ?", "un an"),
    ("payment-methods", "We accept Visa, Mastercard and PayPal.", "Do you accept PayPal?", "PayPal",
     "Nous acceptons Visa, Mastercard et PayPal.", "Acceptez-vous PayPal ?", "PayPal"),
    ("installments", "Orders above 300 euros can be paid in 3 installments.", "Can I pay in installments?",
     "3 installments", "Les commandes de plus de 300 euros peuvent être payées en 3 fois.",
     "Puis-je payer en plusieurs fois ?", "3 fois"),
    ("order-tracking", "Track your order on the My Orders page.", "Where can I track my order?", "My Orders",
     "Suivez votre commande sur la page Mes commandes.", "Où puis-je suivre ma commande ?", "Mes commandes"),
    ("cancel-order", "An order can be cancelled within 2 hours of purchase.", "Until when can I cancel my order?",
     "2 hours", "Une commande peut être annulée dans les 2 heures suivant l'achat.",
     "Jusqu'à quand puis-je annuler ma commande ?", "2 heures"),
    ("password-reset", "Reset your password with the Forgot password link on the sign-in page.",
     "How do I reset my password?", "Forgot password", "Réinitialisez votre mot de passe avec le lien Mot de passe "
     "oublié de la page de connexion.", "Comment réinitialiser mon mot de passe ?", "Mot de passe oublié"),
    ("delete-account", "To delete your account, write to privacy@shop.example.", "How do I delete my account?",
     "privacy@shop.example", "Pour supprimer votre compte, écrivez à privacy@shop.example.",
     "Comment supprimer mon compte ?", "privacy@shop.example"),
    ("loyalty-points", "You earn 1 point per euro spent.", "How many loyalty points do I earn?", "1 point per euro",
     "Vous gagnez 1 point par euro dépensé.", "Combien de points de fidélité est-ce que je gagne ?",
     "1 point par euro"),
    ("points-value", "100 points are worth a 5 euro voucher.", "What are 100 points worth?", "5 euro",
     "100 points valent un bon de 5 euros.", "Que valent 100 points ?", "5 euros"),
    ("store-pickup", "Store pickup is available in Paris and Lyon.", "Where can I pick up my order?", "Paris and Lyon",
     "Le retrait en magasin est possible à Paris et à Lyon.", "Où puis-je retirer ma commande ?", "Paris et à Lyon"),
    ("pickup-delay", "Pickup orders are ready in 2 hours.", "When is a pickup order ready?", "2 hours",
     "Les commandes en retrait sont prêtes en 2 heures.", "Quand une commande en retrait est-elle prête ?",
     "2 heures"),
    ("damaged-item", "Report a damaged item within 48 hours with a photo.", "What do I do if my item arrived "
     "damaged?", "48 hours", "Signalez un article endommagé sous 48 heures avec une photo.",
     "Que faire si mon article est arrivé endommagé ?", "48 heures"),
    ("international", "We ship to 27 countries of the European Union.", "Do you ship abroad?", "27 countries",
     "Nous livrons dans les 27 pays de l'Union européenne.", "Livrez-vous à l'étranger ?", "27 pays"),
    ("invoice", "Invoices are emailed when the order ships.", "When do I get my invoice?", "when the order ships",
     "Les factures sont envoyées par e-mail à l'expédition de la commande.", "Quand vais-je recevoir ma facture ?",
     "à l'expédition"),
    ("price-match", "We match a lower price found within 14 days.", "Do you match lower prices?", "14 days",
     "Nous alignons nos prix sur un prix plus bas trouvé sous 14 jours.", "Alignez-vous vos prix ?", "14 jours"),
    ("student-discount", "Students get 10 percent off with a valid card.", "Is there a student discount?",
     "10 percent", "Les étudiants ont 10 pour cent de remise avec une carte valide.",
     "Y a-t-il une remise étudiante ?", "10 pour cent"),
    ("newsletter", "Newsletter subscribers get a 5 euro welcome voucher.", "What do I get for subscribing to the "
     "newsletter?", "5 euro welcome voucher", "Les abonnés à la lettre d'information reçoivent un bon de bienvenue "
     "de 5 euros.", "Que reçoit-on en s'abonnant à la lettre d'information ?", "bon de bienvenue"),
    ("exchange", "Exchanges for another size are free.", "Is exchanging for another size free?", "free",
     "Les échanges pour une autre taille sont gratuits.", "L'échange pour une autre taille est-il gratuit ?",
     "gratuits"),
    ("assembly", "Furniture assembly at home costs 39 euros.", "How much is furniture assembly?", "39 euros",
     "Le montage de meubles à domicile coûte 39 euros.", "Combien coûte le montage des meubles ?", "39 euros"),
    ("recycling", "We take back your old appliance for free on delivery.", "Do you take back old appliances?",
     "for free", "Nous reprenons gratuitement votre ancien appareil à la livraison.",
     "Reprenez-vous les anciens appareils ?", "gratuitement"),
    ("chat", "Live chat is available on the Help page.", "Where is the live chat?", "Help page",
     "Le chat en direct est disponible sur la page Aide.", "Où est le chat en direct ?", "page Aide"),
    ("address-change", "The delivery address can be changed until the order ships.", "Can I change my delivery "
     "address?", "until the order ships", "L'adresse de livraison peut être modifiée jusqu'à l'expédition.",
     "Puis-je changer mon adresse de livraison ?", "jusqu'à l'expédition"),
)

# (cluster, document, ((question, reference), ...))
DOCUMENTS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("doc-warranty", (
        "Warranty policy. Every appliance sold by the shop is covered by a 2-year warranty from the date of "
        "delivery. The warranty covers defects in materials and workmanship. It does not cover damage caused by "
        "misuse, accidents, or repairs made by anyone other than an approved repairer. To make a claim, open the "
        "My Orders page, choose the item and select Warranty claim; attach the invoice and a short description. "
        "Claims are answered within 7 days. If a repair is not possible, the item is replaced; if it can be "
        "neither repaired nor replaced, it is refunded. An extended warranty of 3 more years can be bought within "
        "30 days of delivery for 15 percent of the item's price."),
     (("How long is the standard warranty?", "2-year"), ("How quickly are claims answered?", "7 days"),
      ("What happens if an item can be neither repaired nor replaced?", "refunded"),
      ("How much does the extended warranty cost?", "15 percent"))),
    ("doc-shipping", (
        "Shipping policy. Orders placed before 2pm on a business day leave the warehouse the same day. Standard "
        "delivery is made by La Poste and takes 3 to 5 business days; express delivery by courier arrives the "
        "next business day and costs 12 euros. Heavy items such as washing machines are delivered by two people "
        "on an appointment booked by phone, for a flat fee of 29 euros. If nobody is home, the parcel waits at "
        "the nearest pickup point for 10 days before it is sent back. Delivery to Corsica and overseas "
        "territories takes up to 10 business days."),
     (("Until what time must I order for same-day dispatch?", "2pm"),
      ("Who delivers standard parcels?", "La Poste"), ("What is the fee for heavy items?", "29 euros"),
      ("How long does a parcel wait at the pickup point?", "10 days"))),
    ("doc-privacy", (
        "Privacy notice. The shop keeps order data for 5 years for accounting reasons and deletes browsing data "
        "after 13 months. Payment card numbers are never stored by the shop: they are handled by the payment "
        "provider. Customers may ask for a copy of their data or its deletion by writing to "
        "privacy@shop.example; requests are answered within one month. Marketing emails are sent only with "
        "consent, and every email has an unsubscribe link. Data is hosted in data centres in Frankfurt."),
     (("How long is order data kept?", "5 years"), ("Who stores card numbers?", "payment provider"),
      ("How fast are data requests answered?", "one month"), ("Where is the data hosted?", "Frankfurt"))),
)

SYSTEM_EN = "You are the support assistant of an online shop. Answer in one short sentence, from the passage."
SYSTEM_FR = "Vous êtes l'assistant du service client d'une boutique en ligne. Répondez en une phrase courte."


def demo_cases() -> list[dict[str, Any]]:
    """Every case of the demo's golden set, as JSONL records."""
    cases: list[dict[str, Any]] = []
    for slug, en_text, en_q, en_a, fr_text, fr_q, fr_a in SUPPORT:
        for lang, system, text, question, answer in (("en", SYSTEM_EN, en_text, en_q, en_a),
                                                     ("fr", SYSTEM_FR, fr_text, fr_q, fr_a)):
            cases.append({"id": f"{slug}-{lang}", "context": text, "expected": answer,
                          "input": [{"role": "system", "content": system}, {"role": "user", "content": question}],
                          "tags": [f"lang:{lang}", "task:support"]})
    for cluster, document, questions in DOCUMENTS:
        for index, (question, answer) in enumerate(questions, start=1):
            cases.append({"id": f"{cluster}-q{index}", "context": document, "expected": answer,
                          "input": [{"role": "system", "content": SYSTEM_EN}, {"role": "user", "content": question}],
                          "tags": ["lang:en", "doc:long"], "cluster": cluster})
    return cases


def write_golden_set(path: Path, *, limit: int | None = None) -> int:
    """Write the golden set as JSONL (the first *limit* support pairs only, when given); returns the case count."""
    cases = demo_cases()
    if limit is not None:
        keep = {f"{slug}-{lang}" for slug, *_ in SUPPORT[:limit] for lang in ("en", "fr")}
        cases = [case for case in cases if case["id"] in keep or "cluster" in case]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(case, ensure_ascii=False) + "\n" for case in cases), encoding="utf-8")
    return len(cases)
