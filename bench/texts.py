"""The texts the benchmark sends: news-like paragraphs and reader comments, 10-120 words.

Written for the benchmark (not taken from any corpus) with the typography real traffic has:
curly quotes, dashes, numbers, names, the odd HTML entity and shouting. ``cycle`` repeats
them to any length so batches of 100 or 1,000 texts keep this mix.
"""

from __future__ import annotations

from itertools import cycle as _cycle
from itertools import islice

EDITORIAL = [
    "The finance ministry said on Wednesday that tax receipts for the first nine months of the year "
    "were 4.2 per cent higher than forecast, giving the government more room to increase spending "
    "on hospitals and schools before the election. Officials cautioned, however, that a slowdown in "
    "consumer spending could erode the surplus by the spring.",
    "Heavy rain forced the closure of two main roads into the city on Tuesday night, and the "
    "national weather service warned that rivers in the northern valleys could burst their banks "
    "by the weekend. About 300 households were told to prepare for evacuation.",
    "Shares in Northgate Energy fell 9 per cent in early trading after the company cut its annual "
    "profit forecast, blaming lower gas prices and a delayed start at its offshore field. The chief "
    "executive, Maria Lindqvist, told analysts that production would recover in the second half.",
    "The city council voted 11-4 on Monday to approve a plan that would convert the disused "
    "railway yard into 1,200 homes, a park and a primary school. Opponents said the scheme did not "
    "include enough affordable housing and vowed to challenge the decision in court.",
    "Researchers at the University of Leeds have found that children who walk to school score "
    "slightly higher on tests of attention than those who are driven, according to a study "
    "published on Thursday in the journal Pediatrics. The authors said the effect was small but "
    "consistent across age groups.",
    "\u201cWe are not going to rush this,\u201d the health minister told reporters outside parliament, "
    "adding that the review of waiting times would report by the end of March. The opposition "
    "accused the government of delaying a decision that was already overdue.",
    "The central bank left its benchmark interest rate unchanged at 3.75 per cent for a third "
    "consecutive meeting, saying inflation was falling but remained above its 2 per cent target. "
    "Two of the nine members of the rate-setting committee voted for a cut. In the minutes of the "
    "meeting, published alongside the decision, the committee said that services inflation and "
    "wage growth were still running too high for it to be confident that price pressures had "
    "eased for good. Markets had expected the decision, and the currency barely moved. Most "
    "economists now expect the first cut in the summer, although several said a weak set of "
    "retail figures next month could bring it forward.",
    "Police said a 34-year-old man had been arrested in connection with the fire, which destroyed "
    "a warehouse on the industrial estate early on Sunday. No one was injured. Investigators have "
    "appealed for anyone with dashcam footage of the area to come forward.",
    "The museum\u2019s new wing, designed by the architect Kenji Watanabe, opens to the public on "
    "Saturday after a four-year construction project that ran \u00a312 million over budget. Its first "
    "exhibition brings together more than 200 prints from private collections in Japan and Europe.",
    "Talks between the rail operators and the drivers\u2019 union broke down late on Friday, making a "
    "strike next week all but certain. The union said its members had rejected a pay offer of 5 per "
    "cent over two years, which the operators described as fair and final. The transport "
    "secretary urged both sides to return to the table, saying that commuters and businesses "
    "could not afford another month of disruption. If the strike goes ahead, it will be the "
    "fourth this year and the first to affect every line in the network at once. Passenger "
    "groups said they would press for compensation for season ticket holders, who have "
    "already lost eleven days of service since January.",
    "Exports of cars from the region rose for the sixth month in a row in October, the statistics "
    "office said, helped by strong demand in Asia and a weaker currency. Imports of machinery, "
    "by contrast, fell to their lowest level since 2020.",
    "A spokesperson for the airline said the delays had been caused by a fault in an air traffic "
    "control system and were not related to staffing. Passengers were advised to check the status "
    "of their flights before travelling to the airport.",
    "The court heard that the company had failed to carry out a risk assessment before the "
    "scaffolding collapsed, injuring two workers. The judge adjourned sentencing until next month "
    "to allow reports to be prepared.",
    "Scientists have warned that the glacier, one of the largest in the Alps, could lose half of "
    "its volume by 2050 even if global emissions fall sharply. Measurements taken this summer "
    "showed it had thinned by 3 metres in a single season &mdash; a record.",
    "The festival, which drew about 45,000 visitors last year, will move to a larger site on the "
    "edge of town, organisers announced on Tuesday. Ticket prices will rise by \u00a35, the first "
    "increase since 2019.",
    "In a statement, the ministry of defence said the exercise involving 14 countries would last "
    "ten days and was not directed at any particular state.",
    "Unemployment fell to 4.1 per cent in the three months to September, the lowest rate in more "
    "than a decade, but wage growth slowed for the second quarter running. Economists said the "
    "labour market was cooling gradually rather than abruptly, which should reassure policymakers "
    "worried about a sudden rise in joblessness next year.",
    "The hospital trust has apologised to the family of a patient who waited nine hours for an "
    "ambulance, and said it had reviewed the way calls are prioritised.",
    "Farmers in the east of the country say the dry spring has cut yields of wheat and barley by "
    "as much as a third. The agriculture minister is expected to announce emergency support "
    "during a visit to the region on Thursday, although officials declined to say how much money "
    "would be made available or how it would be distributed.",
    "According to the report, more than 60 per cent of the country\u2019s bridges were built before "
    "1970 and about one in ten needs urgent repair.",
    "The government confirmed on Monday that it would publish the long-delayed strategy on "
    "water quality before parliament rises for the summer. Environmental groups welcomed the "
    "commitment but said they would judge it on whether it set binding targets for the water "
    "companies and gave the regulator new powers to fine them.",
    "Voters in the district will elect a new mayor on Sunday after the incumbent, Paolo Bruni, "
    "resigned in March citing ill health. Five candidates are standing.",
]

COMMENTS = [
    "lol this is the dumbest thing i've read all week",
    "Totally agree with you!! These politicians never learn, and we keep voting them back in.",
    "Who cares? Nobody asked for this anyway... least of all the people who live there.",
    "Great article, but the comments here are a joke lol",
    "Oh sure, because raising taxes ALWAYS works so well, doesn't it?",
    "Can't believe anyone still falls for this nonsense in 2024. Sad, really sad.",
    "You clearly didn't read the article past the headline. Try again buddy.",
    "Honestly i just want my flight refunded, is that so hard???",
    "Another day, another scandal. What a time to be alive.",
    "My bus was cancelled three times this week and nobody even apologised. Three times! And they "
    "want to put the fares up again in January. Absolutely ridiculous, i'm going back to driving.",
    "I used to live near that railway yard and honestly anything would be better than what's "
    "there now. People complaining about the plan have obviously never walked past it at night.",
    "Where was this outrage when the other lot were in charge? Funny how that works.",
    "thanks for posting this, really useful. does anyone know if the offer applies to "
    "existing customers too or only new ones?",
    "This. 100% this. Couldn't have put it better myself, honestly.",
    "So the bank keeps rates where they are and my mortgage still goes up?? make it make sense",
    "Not sure why everyone is so surprised, they've been saying this for years. Maybe "
    "read something other than the headlines for once, it might help.",
    "My grandad worked on that glacier survey back in the 70s and he said the same thing back then. "
    "Nobody listened. Now look where we are. Honestly makes me so angry and sad at the same time.",
    "Wow. Just wow. How is anyone in charge of anything in this country?",
    "The festival was great last year but \u00a35 more for the same thing? no thanks, i'll stay home "
    "and watch it online",
    "Does anyone actually believe the 'not directed at any particular state' line lol",
    "Good news for once! Well done to the nurses and everyone at the hospital, you lot deserve "
    "a medal after the last few years.",
    "yeah yeah, heard it all before. wake me up when they actually do something",
    "I work in a school and I can tell you the kids who walk in are way more awake in the "
    "morning. Not rocket science really. Shame half of them live on roads with no pavement.",
    "Why is this even news, did nothing else happen today or what",
]


def all_texts() -> list[str]:
    """Every text, editorial and comment interleaved so any slice keeps the mix."""
    mixed = []
    for i in range(max(len(EDITORIAL), len(COMMENTS))):
        mixed.extend(group[i] for group in (EDITORIAL, COMMENTS) if i < len(group))
    return mixed


def cycle(count: int, start: int = 0) -> list[str]:
    """``count`` texts from ``all_texts()`` starting at ``start``, repeating as needed."""
    texts = all_texts()
    start %= len(texts)
    return list(islice(_cycle(texts[start:] + texts[:start]), count))
