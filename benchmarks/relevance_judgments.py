"""Queries and relevance judgments for ``benchmarks/search_relevance.py``.

Judging rule (what a person typing the query means, not what an analyzer matches): a
message is relevant to a query when it uses the query's word in ANY of its forms — plural,
possessive, spoken-Persian clitics (ـم ـش ـتون ـشون ـو ـرو ـه), indefinite/ezafe ـی,
comparative/superlative, verb tense and person, colloquial spelling (ارزون for ارزان,
گرون for گران), Arabic or Persian letters, with or without ZWNJ. Words that merely share
letters but mean something else are NOT relevant: ارز (currency) for ارزان, مرغوب
(fine quality) for مرغ, شارژر (charger) for شارژ, جنسی (sexual) for جنس, baggage for bag,
customize for customer. Each query lists those forms by hand, read off the words of the
datasets (every word starting with the query's stem was looked at and kept or rejected by
that rule); a message is relevant when one of its words (folded like ``feedback.text.
normalise``, lower case, ZWNJ removed) is in the list.

Queries are typed the way people type them: mostly the bare word, some inflected
(``refunds``, ``پیک‌ها``, ``خریدم``).
"""

from __future__ import annotations

__all__ = ["QUERIES"]

# language -> [(query, relevant word forms)]
QUERIES: dict[str, list[tuple[str, set[str]]]] = {
    "en": [
        ("delivery", {"deliver", "delivers", "delivered", "delivering", "delivery", "deliveries"}),
        ("refunds", {"refund", "refunds", "refunded", "refunding"}),
        ("delayed", {"delay", "delays", "delayed", "delaying"}),
        ("bags", {"bag", "bags"}),
        ("luggage", {"luggage", "luggages"}),
        ("seats", {"seat", "seats", "seated", "seating"}),
        ("charged", {"charge", "charges", "charged", "charging"}),
        ("crashes", {"crash", "crashes", "crashed", "crashing"}),
        ("update", {"update", "updates", "updated", "updating"}),
        ("notifications", {"notification", "notifications"}),
        ("paid", {"pay", "pays", "paid", "paying", "payed"}),
        ("waiting", {"wait", "waits", "waited", "waiting"}),
        ("hours", {"hour", "hours"}),
        ("customer", {"customer", "customers", "customer's", "customers'"}),
        ("agents", {"agent", "agents", "agent's", "agents'"}),
        ("photo", {"photo", "photos"}),
        ("features", {"feature", "features"}),
        ("attendant", {"attendant", "attendants"}),
        ("problems", {"problem", "problems"}),
        ("ticket", {"ticket", "tickets", "ticketed"}),
        ("phone", {"phone", "phones"}),
    ],
    "fa": [
        ("غذا", {"غذا", "غذای", "غذاها", "غذاهای", "غذارو", "غذاش", "غذاتون", "غذاشون", "غذاهاش", "غذاهاتون",
                 "غذاهایی", "غذام", "غذاهاشون"}),
        ("پیک‌ها", {"پیک", "پیکها", "پیکهای", "پیکی", "پیکتون", "پیکم", "پیکه", "پیکشون", "پیکش", "پیکشونم"}),
        ("سفارش", {"سفارش", "سفارشم", "سفارشات", "سفارشها", "سفارشهای", "سفارشو", "سفارشش", "سفارشام", "سفارشاتم",
                   "سفارشمون", "سفارشمو", "سفارشا", "سفارشهام"}),
        ("ساندویچ", {"ساندویچ", "ساندویچها", "ساندویچهای", "ساندویچش", "ساندویچا", "ساندویچم"}),
        ("پیتزا", {"پیتزا", "پیتزای", "پیتزاها", "پیتزاش", "پیتزاهای", "پیتزارو", "پیتزاتون", "پیتزاهایی",
                   "پیتزاهاش", "پیتزاهاتون", "پیتزاشون", "پیتزاشم", "پیتزایی"}),
        ("کیفیت", {"کیفیت", "کیفیتش", "کیفیتی", "کیفیته", "کیفیتتون", "کیفیتشم", "کیفیتترین", "کیفیتشون",
                   "کیفیتشو", "کیفیتو", "کیفیتم", "کیفیتیه", "کیفیتتری", "کیفیتتر"}),
        ("قیمت‌ها", {"قیمت", "قیمتش", "قیمتی", "قیمتها", "قیمتشم", "قیمتشون", "قیمتا", "قیمتشو", "قیمتارو",
                     "قیمتهای", "قیمته", "قیمتاش", "قیمتو", "قیمتم"}),
        ("رستوران", {"رستوران", "رستورانهای", "رستورانها", "رستورانی", "رستورانم", "رستورانا", "رستورانای",
                     "رستورانو", "رستورانایی"}),
        ("سرد", {"سرد", "سرده", "سردبود", "سردی", "سردتر"}),
        ("ارسال", {"ارسال", "ارسالی", "ارسالش", "ارسالشون", "ارسالتون", "ارسالو"}),
        ("گوشی", {"گوشی", "گوشیم", "گوشیتون", "گوشیه", "گوشیو", "گوشیهای", "گوشیتونو", "گوشیمو", "گوشیها"}),
        ("خریدم", {"خرید", "خریدم", "خریدش", "خریداری", "خریدمش", "خریده", "خریدن", "خریدشو", "خریدی", "خریدتون",
                   "خریدها", "خریدیم", "خریدنش", "خریدهای", "خریدمم", "میخرم", "میخریم", "بخرید", "بخرم"}),
        ("باتری", {"باتری", "باتریش", "باتریشم", "باتریه"}),
        ("مرغ", {"مرغ", "مرغش", "مرغها", "مرغی", "مرغم", "مرغتون", "مرغشم", "مرغو", "مرغهای", "مرغه"}),
        ("محصول", {"محصول", "محصولات", "محصولی", "محصولو", "محصولاتی", "محصولاتش", "محصوله"}),
        ("خوشمزه", {"خوشمزه", "خوشمزهای", "خوشمزهتر", "خوشمزهترین", "خوشمزهس"}),
        ("ارزان", {"ارزان", "ارزانتر", "ارزانترین", "ارزانی", "ارزون", "ارزونی", "ارزونتر", "ارزونترین"}),
        ("گران", {"گران", "گرانتر", "گرانترین", "گرانقیمت", "گرون", "گرونه", "گرونتر", "گرونی", "گرونترین",
                  "گرونش"}),
        ("تاخیر", {"تاخیر", "تأخیر", "تاخیرهای", "تاخیری", "تاخیرش"}),
        ("تحویل", {"تحویل", "تحویلش", "تحویلی", "تحویلم", "تحویلتون"}),
    ],
}
