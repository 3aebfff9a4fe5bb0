"""Curated given and family names for the eleven member states.

Kept as whitespace-separated literals split into tuples at import: compact in bytes, easy to
review, and fully deterministic (no network, no locale packages whose data changes between
releases and would silently change every seeded data set). Each state's names are written as
its own registry would hold them: script, diacritics and, for family names, the masculine form
(feminine forms are derived by the rules in ``_people``).
"""

from __future__ import annotations


def _t(text: str) -> tuple[str, ...]:
    """Split a whitespace-separated literal, dropping repeats but keeping first-seen order."""
    return tuple(dict.fromkeys(text.split()))


# --- Serbia: written in Cyrillic (the official script); Latin is derived. -------------------
RS_MALE = _t("""
Александар Алекса Андрија Андреј Бане Богдан Бојан Борис Бранко Бранислав Владимир Владан
Војислав Вук Вукашин Вељко Веселин Велимир Видоје Витомир Властимир Горан Гојко Градимир
Далибор Дамјан Данило Дарко Дејан Десимир Драган Драгослав Драгољуб Драгиша Душан Душко Ђорђе
Ђуро Жарко Живорад Жељко Звонко Златко Зоран Иван Игор Илија Јован Јовица Јанко Коста Лазар
Лука Љубиша Љубомир Марко Милан Милорад Милош Милутин Миодраг Мирко Мирослав Мирољуб Миленко
Милоје Миљан Михаило Младен Момчило Небојша Немања Ненад Никола Новак Новица Обрад Огњен Остоја
Павле Петар Перо Петко Предраг Радивоје Радован Радомир Радослав Раденко Радиша Ранко Раде
Рајко Ратко Сава Саша Светозар Светислав Синиша Славиша Слободан Срђан Средоје Станко Станиша
Стефан Стеван Стојан Страхиња Танасије Тихомир Тодор Томислав Урош Филип Часлав Чедомир Ђорђије
""")
RS_FEMALE = _t("""
Ана Анђела Анђелија Ангелина Ања Бисера Биљана Бојана Бранка Валентина Вера Весна Вида
Видосава Вања Вукица Гордана Горица Даница Даринка Дејана Десанка Данијела Дара Драгана Драгица
Драгослава Душанка Ђурђија Ђурђица Ема Живана Загорка Зорица Злата Зора Ивана Ивона Ивка Исидора
Јадранка Јасмина Јелена Јелица Јована Јагода Јулијана Катарина Косара Косана Ксенија Кристина
Лана Лепосава Ленка Лидија Љиљана Љубица Мара Марија Марина Мила Милана Милена Милица Милка
Мина Мирјана Мирослава Наташа Невена Нада Надежда Наталија Неда Нина Оливера Олга Пава Петра
Радмила Радојка Ранка Ружица Ружа Сандра Сара Сања Светлана Симона Славица Слађана Слободанка
Смиља Снежана Соња Софија Станислава Стана Стефана Стојанка Тамара Тања Тара Теодора Тијана
Тина Христина Цвијета Ђурђа Јованка Миланка Милосава Радосава Сузана Тодора Цвета
""")
RS_FAMILY = _t("""
Јовановић Петровић Николић Марковић Ђорђевић Стојановић Илић Станковић Павловић Милошевић
Поповић Костић Живковић Томић Стевановић Танасковић Ракић Лазић Митић Симић Радовановић
Миловановић Вуковић Милојевић Тодоровић Ивановић Пантелић Мијатовић Ђурић Савић Милић Обрадовић
Милосављевић Васић Тасић Матић Антић Алексић Филиповић Радосављевић Пешић Младеновић Благојевић
Ристић Ђокић Бошковић Милетић Вучковић Јанковић Лукић Стојковић Божић Бабић Митровић Вуксановић
Гајић Глишић Ђурђевић Живановић Зорић Јеремић Јокић Јакшић Кнежевић Ковачевић Крстић Лековић
Максимовић Маринковић Марјановић Матовић Мићић Миленковић Миљковић Мирковић Михајловић
Недељковић Нешић Новаковић Остојић Перић Перовић Петковић Пејић Радић Радивојевић Радојевић
Радуловић Ранковић Симоновић Смиљанић Спасић Срећковић Станојевић Стаменковић Стефановић Стошић
Тешић Трифуновић Урошевић Цветковић Ћирић Чолић Шарић Ђуричић Адамовић Аврамовић Бајић Бојовић
Бранковић Васиљевић Величковић Веселиновић Видовић Вујић Вујовић Вулић Грујић
Дамјановић Даниловић Деспотовић Димитријевић Драгић Драшковић Ђуровић Жарковић Здравковић
Зековић Игњатовић Исаковић Јаковљевић Јевтић Јелић Јоксимовић Калинић Кецман Костадиновић
Крсмановић Кузмановић Лазаревић Лалић Мандић Манојловић Милановић Милутиновић Мирић Мојсиловић
Недић Нинковић Новковић Огњановић Пауновић Петронијевић Прокић Протић Раденковић Радисављевић
Рајковић Рашковић Рогић Савковић Секулић Сремац Стојиљковић Станишић Стевић Стојић Тадић Тошић
Тривић Ћосић Ћурчић Цвијић Чупић Шапоњић Шкорић Шљивић Бркић Дивац Јокановић Луковић
Милинковић Нешковић Пејовић Ракочевић Спасојевић Вељковић Станић Лончар Бугарски Сабо Киш Тот
Ковач Маљковић Џаковић Ђукић Ћетковић Ђурашковић Жугић Шћекић Јеличић Бањац Пуповац Гавриловић
""")

# --- Montenegro: Latin in everyday registry use (Cyrillic also official). ------------------
ME_MALE = _t("""
Milo Filip Vuk Luka Nikola Marko Stefan Petar Andrija Balša Blažo Božo Branko Budimir Veselin
Vukašin Vladimir Danilo Darko Dejan Dragan Dušan Đorđe Đuro Žarko Zoran Ivan Igor Jovan Krsto
Lazar Mihailo Milan Miloš Milorad Mirko Miodrag Momčilo Nebojša Nenad Novak Ognjen Pavle Predrag
Radoje Radomir Radovan Ranko Savo Slavko Srđan Stevan Svetozar Tomo Uroš Velimir Veljko Vojo
Vladan Zdravko Željko Jakov Mašo Rade Radenko Boško Vido Vaso Goran Gojko Milutin Miljan Milija
Miroslav Nikša Obrad Pero Risto Spasoje Šćepan Todor Vasilije Almir Adnan Amar Edin Emir
Hamdija Jasmin Mirsad Nedžad Rifat Safet Senad Suad Dževad Vukota Dragutin Novica Milivoje
Radivoje Ljubo Bogdan Aleksa Batrić Dimitrije Đoko Gavrilo Ilija Lakić Mitar
""")
ME_FEMALE = _t("""
Ana Anđela Biljana Branka Vesna Vera Danijela Dragana Dušanka Gordana Jelena Jovana Ivana
Katarina Ksenija Ljiljana Maja Marija Marina Milena Milica Mirjana Nataša Nevena Olivera
Radmila Sandra Sanja Slavica Snežana Sonja Svetlana Tamara Tanja Teodora Tijana Vanja Zorica
Zora Dijana Irena Jasna Jadranka Lidija Ljubica Mila Mina Nada Nađa Nina Petra Sara Stana
Vasilija Danica Milka Mara Đurđa Bojana Andrea Aleksandra Kristina Nikolina Dragica Desanka
Slađana Vukosava Anja Lana Iva Isidora Jovanka Amra Azra Elma Emina Lejla Merima Selma Sabina
Ajla Medina Alma Dženana Stanislava Milosava Ljubinka Darinka Borka Vidosava Jelisaveta Mileva
""")
ME_FAMILY = _t("""
Đukanović Vujanović Bulatović Radulović Vučinić Popović Marković Šćekić Vuković
Kalezić Pejović Perović Drašković Martinović Bošković Jovanović Nikolić Petrović Radović
Raičević Krivokapić Kovačević Lekić Ivanović Mugoša Šaranović Vukčević Vukotić Bojović
Brajović Dragović Đurović Đurišić Gvozdenović Jovićević Kaluđerović Lazarević Lalić Mandić
Marović Medojević Milić Milačić Milošević Mitrović Nenezić Nikčević Novaković Pavićević Perišić
Radonjić Radunović Rakočević Roganović Šćepanović Stanišić Stanković Tomović Vlahović Vojvodić
Vučković Vujošević Vukadinović Vukmirović Vuksanović Zeković Žugić Bećirović Kajošević Hadžić
Dacić Mujović Muratović Šabotić Adrović Kalač Ljaljević Petričević Radojević Bigović Boljević
Bulajić Dabović Dedović Delibašić Drobnjak Dubak Đuranović Grbović Janković Jauković Kilibarda
Kljajević Krgović Labović Lakić Latković Luburić Lukšić Ljumović Marinović Matijević Mićunović
Mijanović Milatović Miranović Mrdak Nedović Nikić Ostojić Otašević Pavlović Pešić Plamenac
Popivoda Radojičić Rašović Savović Sekulić Simović Stojanović Šoć Tošković Uskoković Vujačić
Vujisić Vukićević Vukosavljević Zečević Žarić Cerović Čabarkapa Đokić Gardašević Ivanišević
Jokić Kažić Klikovac Laković Maraš Mijović Ojdanić Pajović Pejanović Rabrenović Sjekloća Šuković
Tomašević Vešović Vujović Zindović Bakrač Burzan Cimbaljević Darmanović Đurđevac Ivezić Knežević
""")

# --- Bosnia and Herzegovina: Latin mostly; Bosniak, Croat and Serb naming alike. ------------
BA_MALE = _t("""
Adnan Admir Adis Ahmed Alen Almir Amar Amel Amir Armin Asim Avdo Bakir Benjamin Damir Dario
Davor Dino Edin Edis Elvir Emin Emir Enes Ermin Fahrudin Faruk Haris Hamza Hasan Husein Ibrahim
Irfan Jasmin Kemal Kenan Mahir Mehmed Mirza Muhamed Mustafa Nedim Nermin Nihad Omer Osman Refik
Safet Salih Samir Sead Selim Senad Suad Sulejman Tarik Vedad Zijad Zlatan Džemal Dženan Šefik
Ćamil Ismet Mujo Huso Haso Ante Ivan Ivo Josip Marko Mario Mato Nikola Pero Stipe Tomislav
Zdravko Željko Dragan Goran Mladen Nenad Ostoja Slobodan Srđan Mirko Milorad Branislav Boris
Dejan Predrag Ranko Vlado Zoran Bojan Đorđe Miroslav Mile Neven Igor Edvin Elmedin Hajrudin
Mirsad Muhidin Nusret Rasim Sabahudin Zijo Ferid Enver Đemal Šaban Jusuf Meho Ramiz Kerim
""")
BA_FEMALE = _t("""
Adna Aida Ajla Alma Amela Amina Amra Anela Arnela Asja Azra Belma Dalila Dženana Džana Edina
Elma Elvira Emina Ena Enisa Fatima Hana Hatidža Ilma Jasmina Lamija Lejla Maida Medina Melisa
Merima Mirela Naida Nejra Nermina Sabina Sabaheta Safija Sanela Selma Senada Suada Šejla Zehra
Zerina Zlata Ana Antonija Ivana Iva Kata Katarina Lucija Marija Marina Martina Mira Nada Dragana
Gordana Jelena Biljana Milica Mirjana Nataša Snježana Svjetlana Tanja Vesna Zorica Željka
Danijela Sanja Jovana Branka Dijana Slavica Azemina Behija Ćamila Dževada Emira Fikreta Hajra
Hasija Jasna Mersiha Mevlida Mubera Nihada Razija Sevda Šemsa Vahida Zumreta Ljubica Đurđica
""")
BA_FAMILY = _t("""
Hodžić Hadžić Begić Mehmedović Hasanović Halilović Alić Omerović Delić Ibrahimović Karić
Kovačević Mujić Salihović Smajić Husić Suljić Muratović Šabić Mešić Ahmetović Bešić Čaušević
Dedić Džeko Efendić Fejzić Hamzić Hrustić Imamović Jusić Kadić Kahrimanović Kurtović Mahmutović
Mašić Memić Mujanović Nuhanović Osmanović Pašić Pehlivanović Ramić Redžić Selimović Softić
Spahić Sulejmanović Tahirović Topić Zukić Zahirović Bajrić Bećirović Brkić Čolić Ćatić Delalić
Hasić Jašarević Kapetanović Kulenović Mehić Merdanović Mustafić Nalić Porobić Šehić Šarić
Tabaković Žilić Avdić Bašić Beganović Ibišević Muminović Ćosić Džafić Isaković Jukić Marić
Knežević Tomić Perić Jurić Pavlović Babić Vidović Martinović Ivanković Zovko Bošnjak Čuljak
Šimić Pejić Marković Filipović Jelić Miletić Barišić Ćorić Savić Jovanović Vasić Tadić Vukić
Mitrović Stojanović Radić Đurić Lazić Pantić Ilić Simić Kecman Glamočanin Todorović Marjanović
Mičić Mandić Gajić Stanić Perišić Lukić Popović Tešić Malešević Hadžiahmetović Ljubijankić
Alagić Bajramović Čengić Dervišević Dizdarević Đulović Fazlić Gušić Hadžiomerović Hukić
Karahasanović Kovač Lončarević Mahić Mešanović Musić Omanović Pašalić Ramović Sarajlić Selmanović
Šahinović Tufekčić Zulfić Bilić Grgić Kolak Ljubić Mikulić Ramljak Rajić Vukoja Zelenika Škobić
""")

# --- North Macedonia: Macedonian Cyrillic (ѓ ќ ѕ љ њ џ). -------------------------------------
MK_MALE = _t("""
Александар Андреј Благоја Бобан Борис Бојан Бранко Васил Владимир Воислав Горан Ѓорѓи Ѓорге
Дамјан Даниел Дарко Дејан Димитар Драган Зоран Златко Игор Илија Ивица Јован Јане Кирил
Климент Коста Кочо Љупчо Марјан Марко Методија Митко Мирче Михаил Никола Огнен Павле Петар Петре
Ристо Сашо Славчо Стефан Стојан Тони Томе Трајче Трајко Филип Христијан Цветан Живко Љубомир
Милан Митре Наум Панче Пеце Ѓоко Влатко Гоце Дончо Ацо Бошко Владо Веле Глигор Данчо Ефтим Жарко
Илчо Јордан Кире Лазар Миле Мите Наце Оливер Перо Раде Симе Стево Тодор Тошо Цане Чедо Ѕвездан
Ѓорѓија Бранислав Вангел Велко Гордан Драги Ѓуро Зафир Јосиф Кузман Лазо Мартин Никодин Ордан
Пандо Сотир Спасе Тале Трпе Фиданчо Христо Џемал
""")
MK_FEMALE = _t("""
Ана Анастасија Ангела Ангелина Александра Биљана Благица Бојана Валентина Васка Весна Верица
Виолета Гордана Дарија Даниела Даница Драгана Ѓурѓа Елена Елизабета Емилија Жаклина Зорица
Ивана Ирена Јадранка Јана Јасмина Јованка Катерина Кристина Лидија Љиљана Маја Марија Марина
Марта Меланија Милена Мирјана Моника Наташа Невена Нада Оливера Сања Симона Славица Снежана
Соња Софија Стефанија Тамара Тања Теодора Цветанка Јулијана Љупка Мила Надица Ружица Сузана
Татјана Фросина Христина Ѕвездана Фиданка Бранка Вера Дона Зорка Ивона Искра Калина Кица Лепа
Магдалена Нела Павлина Радмила Роза Сашка Стојанка Трајанка Велика Гена Деспина
Евгенија Жана Илинка Јагода Катица Лилјана Мара Неда Ордана Петранка Ристана Спасенка
""")
MK_FAMILY = _t("""
Стојановски Петровски Николовски Јовановски Трајковски Димитровски Илиевски Ристовски
Стефановски Костовски Наумовски Андоновски Ангеловски Атанасовски Бошковски Вељановски
Георгиевски Ѓорѓиевски Давидовски Деспотовски Димовски Ѓоревски Зафировски Ивановски Јакимовски
Јанковски Јосифовски Кирковски Крстевски Лазаревски Манчевски Марковски Митревски Милошевски
Најдовски Ничевски Пандовски Пеевски Ристески Сиљановски Спасовски Станковски Стојчевски
Талевски Тасевски Тодоровски Трајановски Угриновски Филиповски Цветковски Цветановски Чаловски
Шијаковски Алексовски Блажевски Богдановски Бојчевски Велковски Гавриловски Гроздановски
Даневски Дамчевски Доневски Јовчевски Кочовски Кузмановски Мицевски Нестороски Поповски
Пешевски Ристевски Ташевски Фиданоски Христовски Џамбазовски Џепаровски Ќосевски Ќурчиевски
Ангелов Иванов Петров Стојанов Николов Димитров Георгиев Тасев Трајков Ристов Костов Јанев
Павлов Попов Танев Цветков Шопов Ѓоргиев Кочев Крстев Михајлов Стоилов Велков Ѓорев Панов
Манев Јованов Тодоров Јакимов Мицков Ќурчиев Петковиќ Јовановиќ Стојковиќ Ѓорѓевиќ
Николиќ Миловиќ Арсовски Бабунски Белчевски Божиновски Грујовски Дуковски Ѓуровски Змејковски
Ивановиќ Каровски Китановски Лековски Маркоски Мукоски Најдески Пановски Ралевски Секуловски
Симоновски Тренчевски Шишков Бакалов Гоцев Ѓузелов Кузманов Матеев
""")

# --- Bulgaria: Bulgarian Cyrillic (щ ъ ю я). ---------------------------------------------------
BG_MALE = _t("""
Александър Ангел Антон Асен Атанас Богдан Божидар Борис Бойко Боян Валентин Васил Веселин
Виктор Владимир Георги Григор Даниел Деян Димитър Добромир Евгени Емил Живко Здравко Иван
Ивайло Илия Йордан Кирил Константин Красимир Крум Любомир Людмил Мартин Методи Милен Михаил
Младен Никола Николай Огнян Пенчо Петър Пламен Радослав Румен Самуил Светослав Симеон Слави
Спас Стамен Стефан Стоян Страхил Теодор Тодор Тихомир Траян Христо Цветан Цанко Явор
Янко Юлиан Ясен Бисер Благой Венелин Веско Галин Герасим Делян Денис Димо Дончо Жельо Захари Иво
Калоян Кольо Любен Малин Марин Мирослав Неделчо Недко Орлин Павел Пеньо Първан Радко Райчо Ради
Росен Сашо Стойко Тошко Филип Цвятко Щерю Щилян Ангелин Велизар Гено Драгомир Енчо Кънчо
Лъчезар Мирчо Никифор Пейо Ралчо Станимир Тончо Христиан Чавдар Юрий
""")
BG_FEMALE = _t("""
Александра Ана Анелия Ани Антоанета Биляна Бистра Богдана Борислава Валентина Ваня Вела Величка
Венета Веселина Виктория Галина Габриела Гергана Дарина Даниела Десислава Диана Димитрина Донка
Дора Евгения Екатерина Елена Елка Емилия Жана Живка Здравка Зорница Иванка Ивелина Илияна Ирина
Йорданка Калина Катя Кристина Красимира Лиляна Любка Мариана Мария Марина Маргарита Милена
Мирослава Надежда Наталия Невена Нели Нина Пенка Петя Пламена Радка Райна Ралица Роза Росица
Светла Светлана Симона Силвия Снежана Соня Станка Стефка Теодора Таня Тодорка Христина
Цветелина Цвета Цветана Юлия Яна Янка Ясена Ясмина Деница Дешка Добринка Милка Мила Надя
Павлина Полина Радостина Рени Славка Стела Теменуга Яница Ружа Вълкана Дафина Живодара
Звезделина Иглика Къна Люба Мирела Неделя Огняна Пена Румяна Сийка Тинка Хриса Щеряна
""")
BG_FAMILY = _t("""
Иванов Георгиев Димитров Петров Николов Христов Стоянов Тодоров Илиев Василев Атанасов Петков
Ангелов Йорданов Колев Марков Попов Кирилов Костов Стефанов Михайлов Янев Радев Русев Маринов
Ненов Славов Цветков Пенев Митев Кръстев Желязков Станчев Симеонов Методиев Банев Бонев Борисов
Гочев Данаилов Денев Добрев Дончев Драганов Дянков Енчев Живков Златев Игнатов Йотов Калчев
Каменов Караиванов Кацаров Кехайов Кънчев Лазаров Лалев Любенов Манолов Матеев Милев Минчев
Младенов Мутафчиев Найденов Недялков Начев Панайотов Панов Пеев Пенчев Пешев Райчев Ралчев
Рангелов Савов Сарафов Спасов Станков Стойков Стойчев Табаков Тасев Терзиев Тонев Трифонов
Узунов Филипов Христозов Цанков Чакъров Чолаков Шишков Щерев Щилянов Гущеров Юруков Янков
Янакиев Вълчев Вълков Гълъбов Първанов Търнев Дъскалов Вълканов Кючуков Бояджиев Джамбазов
Хаджиев Хаджииванов Сапунджиев Бакърджиев Калъчев Костадинов Нейков Пашов Ганев Гечев Гешев
Гинев Грозев Дечев Дичев Дойчинов Дамянов Зарев Захариев Зографов Илков Кирчев Коцев Кузманов
Лилов Лозанов Маджаров Мавродиев Момчилов Мирчев Неделчев Нешев Обретенов Павлов Паскалев
Пейчев Радков Рачев Русинов Семерджиев Сотиров Стамов Стамболов Стаматов Тошев Тютюнджиев
Христакиев Чернев Чобанов Шопов Раковски Стамболийски Каравелов Славейков Бъчваров Въжаров
Гьошев Дюлгеров Ерменков Жечев Йосифов Къдрев Люцканов Мръвков Пъргов Тъпчилещов Щърбанов
""")

# --- Greece: monotonic Greek with accents; family names in the masculine nominative. -------
GR_MALE = _t("""
Γεώργιος Ιωάννης Κωνσταντίνος Δημήτριος Νικόλαος Παναγιώτης Βασίλειος Χρήστος Αθανάσιος
Μιχαήλ Ευάγγελος Σπυρίδων Αντώνιος Αναστάσιος Θεόδωρος Ανδρέας Χαράλαμπος Αλέξανδρος
Εμμανουήλ Ηλίας Σταύρος Πέτρος Στέφανος Παύλος Γρηγόριος Απόστολος Κυριάκος Λεωνίδας Διονύσιος
Σωτήριος Στυλιανός Αριστείδης Άγγελος Φώτιος Θωμάς Ευστάθιος Μάρκος Ορέστης Περικλής Πρόδρομος
Φίλιππος Χαρίλαος Αχιλλέας Γεράσιμος Δανιήλ Ελευθέριος Ζήσης Ηρακλής Θεοφάνης Ιάκωβος Ιάσονας
Λάμπρος Λουκάς Μιλτιάδης Νεκτάριος Νικηφόρος Ξενοφών Οδυσσέας Παντελής Ραφαήλ Σάββας Σοφοκλής
Σπύρος Στέλιος Τάσος Τριαντάφυλλος Φραγκίσκος Χρυσόστομος Άρης Γιάννης Γιώργος Κώστας Νίκος
Μανώλης Μάριος Πάνος Παρασκευάς Πολυχρόνης Ευθύμιος Ζαχαρίας Κλεάνθης Κοσμάς Νικήτας Προκόπιος
Σεραφείμ Τηλέμαχος Φαίδων Αριστοτέλης Βαγγέλης Δημοσθένης Ευριπίδης Θανάσης Ιορδάνης Κλέαρχος
""")
GR_FEMALE = _t("""
Μαρία Ελένη Αικατερίνη Βασιλική Σοφία Αγγελική Γεωργία Δήμητρα Κωνσταντίνα Παναγιώτα Ευαγγελία
Ιωάννα Χριστίνα Αναστασία Ειρήνη Ευτυχία Αθανασία Δέσποινα Παρασκευή Σταυρούλα Θεοδώρα
Αλεξάνδρα Ζωή Κυριακή Χρυσούλα Φωτεινή Ουρανία Αφροδίτη Πηνελόπη Νικολέτα Ελευθερία Αντωνία
Αρετή Βαρβάρα Γαρυφαλλιά Δανάη Ευγενία Καλλιόπη Κλεοπάτρα Λαμπρινή Μαργαρίτα Μαρίνα Μυρτώ
Ναταλία Ξανθή Όλγα Ραλλού Σπυριδούλα Στυλιανή Τριανταφυλλιά Φανή Χαρίκλεια Ανθή Άννα Άρτεμις
Ευανθία Ηλιάνα Θάλεια Ιφιγένεια Κατερίνα Λίνα Μελίνα Νεφέλη Νίκη Πολυξένη Ρένα Σεβαστή
Σμαράγδα Τασούλα Χαρά Αλίκη Βικτώρια Ελπίδα Ευφροσύνη Ισμήνη Στέλλα Σταματία Φωτούλα Ζαχαρούλα
Αργυρώ Βασιλεία Γλυκερία Ευδοξία Κωνσταντία Μαγδαληνή Ολυμπία Πολυτίμη Σουλτάνα Χρυσάνθη
""")
GR_FAMILY = _t("""
Παπαδόπουλος Παπαδάκης Γεωργίου Παπαγεωργίου Οικονόμου Νικολάου Δημητρίου Ιωάννου
Κωνσταντίνου Αντωνίου Βασιλείου Μακρής Παππάς Αθανασίου Χριστοδούλου Γεωργιάδης Ιωαννίδης
Παπανικολάου Καραγιάννης Αλεξίου Μιχαηλίδης Πετρόπουλος Νικολόπουλος Κωνσταντόπουλος
Αναγνωστόπουλος Γεωργόπουλος Δημόπουλος Αλεξόπουλος Παναγιωτόπουλος Ανδρεόπουλος Σταθόπουλος
Χριστόπουλος Βλάχος Κωνσταντινίδης Αθανασιάδης Σαββίδης Θεοδωρίδης Παπαδημητρίου Παπαϊωάννου
Λαμπρόπουλος Φωτόπουλος Σπυρόπουλος Ζαχαρίου Ηλιόπουλος Θεοδωρόπουλος Καλογεράκης Κατσαρός
Κοντός Λαμπράκης Μαυρίδης Μαυρομάτης Νικολαΐδης Ξενάκης Πανταζής Παπακωνσταντίνου
Πολυχρονίου Ραφαηλίδης Σαρρής Σιδηρόπουλος Σταματόπουλος Στεφανίδης Τριανταφύλλου Τσακίρης
Φραγκιαδάκης Χατζηδάκης Χατζής Χρυσοχόος Ψαρράς Αποστολόπουλος Γιαννόπουλος Δημάκης Ευαγγέλου
Ζερβός Καλαμαράς Κυριακίδης Λιάπης Μανωλάκης Μελετίου Οικονομίδης Παπαθανασίου Πετράκης Ρήγας
Σωτηρόπουλος Τσολάκης Φιλίππου Χαραλαμπίδης Χριστάκης Ανδριανός Βουτσάς Γκίκας Διαμαντής
Ευθυμίου Θεοχάρης Καρράς Κουκουλάκης Λάσκαρης Μάρκου Παναγιωτίδης Ραπτόπουλος Σταυρόπουλος
Τζιόλας Φλώρος Χαλκιάς Σπανός Δούκας Κανελλόπουλος Λιάκος Κουρής Αναστασίου Σταυρίδης
Ζαφειρίου Ξυδάκης Γαλάνης Γκούμας Αγγελόπουλος Βασιλόπουλος Γιαννακός Δρόσος Καλογερόπουλος
Κυριαζής Μπακάλης Ντούμας Πάλλας Ρούσσος Σκούρας Τσιμάρας Φαρμάκης Χατζόπουλος Ψυχογιός
""")

# --- Hungary: family name first in speech, kept separate in records. ----------------------
HU_MALE = _t("""
László István József János Zoltán Sándor Gábor Ferenc Attila Péter Tamás Zsolt Tibor András
Csaba Imre Lajos György Balázs Róbert Mihály Gergely Dávid Ádám Dániel Krisztián Norbert Bence
Máté Levente Márton Károly Béla Gyula Ákos Dezső Ernő Ödön Gusztáv Géza Jenő Kálmán Miklós Pál
Szabolcs Viktor Zsigmond Árpád Barnabás Botond Csongor Dominik Endre Győző Huba Iván Kristóf
Kornél Lőrinc Márk Milán Nándor Olivér Oszkár Patrik Richárd Rudolf Sebestyén Szilárd Tivadar
Vilmos Zalán Ábel Bálint Benedek Elemér Gellért Hunor Kolos Lóránt Marcell Mátyás Orbán Előd
Vince Benjámin Roland Erik Csanád Örs Ottó Fülöp Kelemen Bertalan Jakab Lukács Tódor
""")
HU_FEMALE = _t("""
Mária Erzsébet Katalin Ilona Éva Anna Zsuzsanna Margit Judit Ágnes Andrea Julianna Erika
Krisztina Ildikó Mónika Edit Gabriella Eszter Szilvia Anita Tímea Rita Viktória Nikolett Tünde
Beáta Hajnalka Klára Piroska Rozália Magdolna Irén Gizella Borbála Dóra Réka Petra Fanni
Anikó Emese Enikő Csilla Orsolya Adrienn Zita Kitti Lilla Boglárka Luca Hanna Zsófia Lili
Jázmin Noémi Flóra Vivien Bianka Dorina Kinga Melinda Zsanett Brigitta Veronika Gyöngyi Györgyi
Mariann Sarolta Vilma Jolán Aranka Teréz Emőke Szabina Renáta Tekla Csenge Ibolya Bernadett
Dorottya Evelin Gréta Kata Nóra Panna Rebeka Sára Etelka Kornélia Ünige Írisz
""")
HU_FAMILY = _t("""
Nagy Kovács Tóth Szabó Horváth Varga Kiss Molnár Németh Farkas Balogh Papp Takács Juhász
Lakatos Mészáros Oláh Simon Rácz Fekete Szilágyi Török Fehér Balázs Gál Kis Szűcs Kocsis Orsós
Pintér Fodor Szalai Sipos Magyar Lukács Gulyás Bíró Király Katona László Jakab Bogdán Balog
Sándor Boros Fazekas Kelemen Antal Orosz Somogyi Fülöp Veres Budai Vincze Hegedűs Deák Pap
Bálint Illés Pál Vörös Szőke Vass Bognár Lengyel Szekeres Fábián Hajdu Halász Jónás Kozma Máté
Székely Pásztor Bakos Dudás Major Hegyi Virág Sárközi Orbán Barta Benkő Csonka Dobos Erdős
Faragó Gergely Győri Hajdú Kántor Kardos Kertész Márkus Mohácsi Nemes Novák Pataki Péter Pető
Rózsa Sebestyén Soós Szénási Tamás Tímár Tompa Ujvári Vadász Vida Zsigmond Ács Ábrahám
Csizmadia Cseh Csordás Csűrös Gáspár Gombos Győrfi Héjja Imre Jenei Kálmán Kalmár Lőrincz Mező
Nyári Puskás Rigó Sallai Szarka Varjú Vígh Zsoldos Endrődi Fűzi Süle Tüske Bódis Őri
""")

# --- Romania: standard comma-below ș ț; ă â î. ---------------------------------------------
RO_MALE = _t("""
Ion Ioan Gheorghe Vasile Constantin Nicolae Mihai Alexandru Andrei Adrian Cristian Daniel Florin
Marius Ionuț Gabriel Dumitru Ștefan Cătălin Bogdan Mircea Sorin Ovidiu Răzvan Radu Lucian Cosmin
Dragoș Liviu Marian Petru Valentin Viorel Costel Eugen Emil Iulian Laurențiu Remus Sergiu Silviu
Traian Tudor Victor Virgil Aurel Aurelian Călin Claudiu Ciprian Corneliu Costin Dan Dorin Doru
Emanuel Fănel Horia Ilie Mădălin Matei Mihăiță Nelu Octavian Paul Petrică Relu Sebastian
Silvian Șerban Teodor Tiberiu Titus Valeriu Vlad Ionel Grigore Iacob Iosif Neculai Nicușor Romeo
Sandu Toma Vasilică Zaharia Alin Darius Denis Eduard Robert Răducu Gigel Cornel Florian Stelian
Aurică Costică Dănuț Gelu Lică Marcel Nicolai Panait Pompiliu Sabin Tănase Vasilache Viorică
""")
RO_FEMALE = _t("""
Maria Elena Ioana Ana Mihaela Andreea Cristina Daniela Alexandra Gabriela Georgiana Nicoleta
Alina Ramona Florentina Simona Mariana Adriana Roxana Elisabeta Irina Larisa Loredana Oana Raluca
Diana Monica Camelia Carmen Claudia Corina Dana Doina Ecaterina Felicia Gheorghița Ileana Iulia
Laura Lavinia Liliana Luminița Magdalena Marcela Mădălina Natalia Otilia Paula Petronela Rodica
Silvia Sorina Ștefania Tatiana Valentina Veronica Violeta Viorica Aurelia Angela Anca Bianca
Cătălina Cornelia Delia Denisa Emilia Eugenia Florica Ionela Iuliana Lenuța Lucreția Mirela Nela
Paraschiva Sabina Teodora Virginia Ancuța Brândușa Ilinca Smaranda Tudora Vasilica Dorina
Floarea Alexandrina Crina Domnica Georgeta Lăcrămioara Marioara Ștefana Tincuța Zoița Victoria
""")
RO_FAMILY = _t("""
Popescu Ionescu Popa Pop Radu Dumitru Stan Stoica Gheorghe Matei Ciobanu Constantin Mihai Rusu
Marin Dinu Ștefan Munteanu Lungu Florea Tudor Dobre Barbu Nistor Ene Ion Moldovan Sandu Cristea
Vasile Gavrilă Preda Lazăr Toma Oprea Ilie Nedelcu Neagu Dima Anghel Bălan Ardeleanu Ardelean
Diaconu Enache Iordache Mocanu Niță Manole Mazilu Voicu Zamfir Surdu Stoian Tănase Badea Bucur
Căpraru Cojocaru Croitoru Dragomir Drăgan Dumitrescu Georgescu Grigore Iancu Ionița Lupu Manea
Mănescu Marinescu Mihăilă Mitrea Moraru Năstase Negru Nicolae Olteanu Păun Pană Petrescu Pîrvu
Pârvu Predescu Răducanu Roman Sârbu Șerban Sima Stănescu Stanciu Suciu Tănăsescu Teodorescu
Toader Trandafir Ungureanu Vlad Vlădescu Voinea Zaharia Avram Bogdan Buzatu Cazacu Chiriac Coman
Constantinescu Costache Costea Crăciun Dăscălescu Dobrescu Dumitrache Filip Gherman Ispas
Lăzărescu Marcu Mircea Neacșu Nechita Oprescu Pavel Păunescu Popovici Rădulescu Sava Săvulescu
Șandru Tudose Țăranu Ursu Vasilescu Vișan Zaharescu Bratu Chirilă Cârstea Dumitrașcu Ghiță
Irimia Mureșan Oancea Pascu Pătrașcu Rotaru Tanasă Aanei Țurcanu Țîrlea Bădescu Câmpeanu
Dănilă Fieraru Grosu Husar Mușat Nițu Prisăcaru Roșu Sălăjan Tătaru Văduva Zăvoianu Știrbu
""")

# --- Moldova: Romanian-language names; a Russian-speaking minority named Russian-style. ----
MD_MALE = _t("""
Ion Vasile Nicolae Gheorghe Sergiu Andrei Alexandru Mihai Vladimir Dumitru Victor Valeriu Igor
Eugeniu Vitalie Iurie Petru Anatol Veaceslav Grigore Constantin Tudor Octavian Ilie Radu Cristian
Dorin Dan Marin Maxim Denis Valentin Vlad Adrian Corneliu Eduard Gavril Iulian Mihail Nichita
Simion Valerian Veniamin Arcadie Chiril Emil Teodor Daniel Mircea Aurel Costel Lilian Ghenadie
Nicu Pavel Ruslan Vadim Oleg Iacob Stanislav Alexei Sandu Vasilică Dănuț Anatolie Dionisie
Efim Foma Ivan Leonid Nicon Pantelimon Serafim Toader Trofim Zaharia
""")
MD_FEMALE = _t("""
Maria Elena Ana Natalia Tatiana Olga Irina Galina Valentina Lilia Ecaterina Nadejda Larisa
Angela Aurelia Cristina Diana Doina Eugenia Felicia Inga Liliana Liuba Marina Mariana Nina
Raisa Rodica Silvia Snejana Tamara Vera Victoria Viorica Zinaida Alexandra Alina Carolina Corina
Daniela Dorina Ina Iulia Lucia Maia Nelea Olesea Parascovia Stela Valeria Veronica Zina Emilia
Antonina Ala Anastasia Doinița Ilona Maricica Sofia Xenia Eudochia Ludmila Svetlana Oxana Aliona
Ariadna Cătălina Dumitrița Elizaveta Eleonora Feodora Lidia Mihaela Nicoleta Olimpiada Vasilisa
""")
MD_FAMILY = _t("""
Rusu Ceban Ciobanu Țurcan Lungu Cebotari Munteanu Popa Moraru Rotari Sârbu Cojocari Guțu
Roșca Bivol Melnic Cazac Botnari Bodiu Crudu Grosu Balan Cucu Prisacari Rusnac Ungureanu Zaharia
Istrati Vrabie Panfil Scutaru Sandu Revenco Moldovan Chiriac Cucoș Pascari Plămădeală Railean
Tabac Lupu Ursachi Tofan Nistor Cojocaru Cozma Croitor Enache Gheorghiu Golban Gorea Iațco Lozan
Luca Malai Manole Mereuță Mocanu Morari Negru Olaru Onu Popescu Postolachi Prodan Racu Rotaru
Russu Sîrbu Spânu Stratan Surdu Talmaci Tănase Timofti Toma Vieru Botnaru Bulgaru Căldare
Donică Frunze Gaidarji Topal Cara Chiosea Leancă Marchitan Popovici Rață Secrieru Șevcenco
Bondarenco Tcaciuc Melniciuc Covalenco Țîbuleac Ursu Vasilache Zgardan Negruța Iordăchescu
""")
MD_RU_MALE = _t("""
Serghei Dmitri Nicolai Alexei Vladimir Oleg Igor Vadim Ruslan Artiom Fiodor Stepan Timofei
Pavel Boris Ghenadi Leonid Maxim Denis Roman Stanislav Evghenii Andrei Vitali Victor Anatolii
Iurii Valerii Mihail Piotr Grigorii Constantin Iaroslav Arkadii Vasilii Semion
""")
MD_RU_FEMALE = _t("""
Svetlana Olga Irina Galina Ludmila Natalia Tatiana Oxana Raisa Snejana Tamara Nadejda Larisa
Elena Marina Nina Zinaida Valentina Liubov Vera Alla Anastasia Xenia Evghenia Inna Alevtina
Antonina Iulia Ecaterina Polina Daria Uliana Lidia Maria Anna
""")
MD_RU_FAMILY = _t("""
Ivanov Petrov Popov Smirnov Sidorov Kuzmin Vasiliev Morozov Volkov Pavlov Sokolov Lebedev
Novikov Fiodorov Mihailov Andreev Alexeev Nikitin Zaharov Stepanov Semionov Egorov Kovaliov
Orlov Belousov Gusev Titov Kiselev Makarov Frolov Belov Tarasov Bogdanov Grigoriev Romanov
Kalinin Karpov Medvedev Ershov Nikolaev Golubev Zaitsev Vinogradov Saveliev Beleaev Burlacov
""")

# --- Türkiye: Turkish alphabet (ç ğ ı İ ö ş ü). -----------------------------------------------
TR_MALE = _t("""
Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim İsmail Osman Yusuf Murat Ömer Ramazan Halil
Süleyman Abdullah Mahmut Recep Salih Fatih Kadir Emre Kemal Hakan Burak Serkan Yasin Orhan Erkan
Cengiz Volkan Emin Gökhan Oğuz Uğur Tuncay Tolga Selim Sinan Şükrü Şahin Necati Nihat Levent
Kaan Onur Eren Barış Berk Can Cem Deniz Doğan Ekrem Engin Enes Erdem Ercan Ersin Ferhat Furkan
Gürkan Harun İlhan İlker İsa Kenan Koray Kürşat Metin Muhammed Musa Nuri Okan Özgür Rıza Sadık
Sedat Serdar Sezer Taner Tarık Tayfun Turgut Ümit Yakup Yavuz Yılmaz Yiğit Zafer Zeki Çağatay
Çağlar Ömür Ünal Bülent Cihan Davut Erol İlyas Kerem Mert Nazım Rasim Şevket Tahir Vedat Yunus
Ziya Alper Aykut Batuhan Bilal Cafer Dursun Emrah Fikret Hamza Hidayet İsmet Kâzım Mücahit Talha
""")
TR_FEMALE = _t("""
Fatma Ayşe Emine Hatice Zeynep Elif Meryem Şerife Zehra Sultan Hanife Merve Büşra Esra Özlem
Yasemin Gül Derya Hülya Sevgi Sibel Ebru Dilek Aysel Aynur Songül Kübra Tuğba Gamze Hande Selin
Sevim Gülşen Gülay Nurcan Nermin Leyla Melek Hacer Havva Kadriye Rabia Saadet Şule Tülay Yıldız
Zübeyde Ayten Bahar Burcu Canan Cansu Çiğdem Damla Didem Dilara Duygu Ece Eda Ela Esma Filiz
Gizem Gökçe Güler Gülten Halime İlknur İpek Irmak Kader Kezban Lale Meltem Müge Naciye Nazlı
Nesrin Nihal Nur Özge Pınar Rukiye Seda Serap Sinem Şeyma Tuba Ümran Yağmur Yeliz Yeşim Zerrin
Arzu Asiye Berna Beyza Cemile Döndü Elçin Ayşegül Buket Dudu Fadime Gülsüm Hilal İclal Kıymet
""")
TR_FAMILY = _t("""
Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan
Çetin Kara Koç Kurt Özkan Şimşek Polat Özcan Korkmaz Çakır Erdoğan Yavuz Can Acar Şen Aktaş
Güler Yalçın Güneş Bozkurt Bulut Keskin Ünal Turan Gül Özer Işık Kaplan Avcı Sarı Tekin Taş
Köse Yüksel Ateş Aksoy Yurt Karakaya Tunç Akın Uçar Erdem Oral Sönmez Başaran Kocabaş Altun
Bayram Kılınç Güven Tuncer Akgül Aydoğan Bilgin Coşkun Çiftçi Demirci Duman Ekinci Eren Genç
Gündoğdu Gürbüz İnce Karaca Karagöz Kaçar Kahraman Karabulut Kartal Kaymaz Kocaman Kurtuluş
Metin Oğuz Önal Özbek Özgür Özkaya Pehlivan Sağlam Savaş Sezer Soylu Sürücü Şener Taşkın
Toprak Türkmen Uysal Uzun Vural Yaman Yazıcı Yiğit Zengin Akbaş Akbulut Alkan Atalay Ayhan
Balcı Başar Bektaş Boz Cebeci Çakmak Dalkılıç Dinç Durmaz Elmas İpek Kalkan Kandemir Karataş
Keleş Kırmızı Kuş Mutlu Okur Orhan Özden Sevim Tan Temiz Tokgöz Uğurlu Ulusoy Yücel İşler İnan
""")

# --- Albania: ë and ç; family names in the definite form the civil registry uses. ----------
AL_MALE = _t("""
Arben Agron Ardit Ardian Arjan Artan Astrit Bajram Bardhyl Bekim Besnik Blerim Bujar Dashamir
Dritan Edmond Elton Endrit Enver Erion Ermal Fatmir Fatos Florian Gentian Genci Gëzim Gjergj
Gjon Ilir Kastriot Klodian Kujtim Lulzim Luan Mark Mentor Naim Nikolla Pëllumb Petrit Redon
Rexhep Saimir Shkëlqim Skënder Sokol Taulant Tomorr Vangjel Xhevdet Ylli Zef Zenel Fatbardh
Flamur Hysen Isuf Kreshnik Lorenc Mehmet Muharrem Nazmi Orion Qemal Ramiz Sali Shpëtim Tefik
Ymer Altin Andi Aleksandër Bledar Driton Eduart Elvis Ermir Erjon Gazmend Hajdar Ilirian Jetmir
Kristi Klevis Mikel Olsi Rezart Sabri Xhemal Xhafer Eqrem Fadil Arbër Dhimitër Lefter Spiro
Thoma Vasil Pandeli Koço Pjetër Ndue Prenk Lekë Dedë Gjin Mirash Marash Çlirim Bashkim Shkëlzen
""")
AL_FEMALE = _t("""
Adelina Albana Alketa Anila Arjola Blerina Brunilda Diana Dorina Drita Elda Elona Enkeleda
Entela Eriselda Esmeralda Fatbardha Flutura Gentiana Greta Ilda Irena Jonida Klodiana Lindita
Lirie Luljeta Majlinda Manjola Mimoza Mirela Nertila Orjeta Ornela Rezarta Rudina Suela Teuta
Valbona Vjollca Xhensila Yllka Zamira Alma Anisa Arta Besa Bora Borana Dafina Ela Ema Era Erisa
Fjona Gresa Hana Jeta Klea Kejsi Lule Mira Nora Rina Sara Sonila Tea Vera Zana Zhaneta Sevdije
Shpresa Bukuroshe Dhurata Fatmira Hëna Kaltrina Liljana Marjeta Merita Nexhmije Qëndresa Rovena
Silva Violeta Ëndrita Blerta Shqipe Lumturie Vitore Mrika Floreta Ledia
""")
AL_FAMILY = _t("""
Hoxha Shehu Leka Gjoka Kola Marku Prifti Dervishi Rama Berisha Krasniqi Gashi Bajrami Hasani
Kelmendi Shala Morina Ahmeti Aliu Xhafa Çela Çeka Çaushi Lleshi Meta Muça Nika Noka Pllumbi
Qosja Sula Toska Vata Zeka Bushati Dibra Dushku Frashëri Gjini Gjonaj Hysa Isufi Kastrati Kuka
Laçi Lika Llazari Mema Mehmeti Mustafa Ndreu Osmani Paloka Përmeti Pepa Qerimi Rexha Sefa
Shkëmbi Shkreli Tafa Topalli Vrioni Ymeri Zaimi Bregu Cani Daci Deda Elezi Fejzo Gega Hyka
Kapllani Koçi Kurti Luli Malaj Mëhilli Nallbani Nushi Pashaj Prendi Qafa Sinani Spahiu Tahiri
Turku Veliu Xhaferri Bardhi Basha Biba Bici Cenaj Dauti Duka Fusha Gjika Gjoni Gjura Hala
Haxhiu Jaupi Karaj Lame Mandi Mara Nasufi Ndoja Palushi Pema Peza Progri Qama Troshani
Vuksani Zela Çuni Kaçi Luçi Rrapaj Rrahmani Shkurti Tërshana Ujkaj Xhelili Ylli Zhupa Çobani
""")
# Definite -> indefinite pairs: older and hand-typed records sometimes hold the bare form.
AL_FAMILY_INDEFINITE = (
    ("Hoxha", "Hoxhë"),
    ("Berisha", "Berishë"),
    ("Gjoka", "Gjokë"),
    ("Kola", "Kolë"),
    ("Leka", "Lekë"),
    ("Rama", "Ramë"),
    ("Shehu", "Sheh"),
    ("Hasani", "Hasan"),
    ("Prifti", "Prift"),
    ("Marku", "Mark"),
    ("Lleshi", "Llesh"),
    ("Dervishi", "Dervish"),
    ("Krasniqi", "Krasniq"),
    ("Gjoni", "Gjon"),
    ("Deda", "Dedë"),
    ("Duka", "Dukë"),
    ("Toska", "Toskë"),
    ("Bardhi", "Bardh"),
    ("Basha", "Bashë"),
    ("Çela", "Çelë"),
)
